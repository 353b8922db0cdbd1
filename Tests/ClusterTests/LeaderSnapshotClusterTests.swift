import Foundation
import RingstoreClient
import RingstoreCore
import Testing
import Wire

/// A leader-mode follower that was down while the leader wrote past its log's retention
/// budget, with real processes (etcd and three `ringstore serve` on 127.0.0.1, the log
/// budget 64 KiB): it comes back, receives a snapshot, catches up, rejoins the ISR, and
/// then answers every acknowledged write with `read=follower&after=TOKEN`.
@Suite(.serialized) struct LeaderSnapshotClusterTests {
    /// `count` keys of one partition of `orders` (the default ring of three nodes), and the partition.
    static func keys(count: Int) throws -> (partition: Int, keys: [String]) {
        let ring = try Ring(nodes: [NodeID("n1"), NodeID("n2"), NodeID("n3")])
        let keyspace = try KeyspaceName(validating: "orders")
        func partition(_ key: String) throws -> Int {
            ring.partition(keyspace: keyspace, key: try Key(validating: Array(key.utf8))).index
        }
        let target = try partition("k0")
        var keys: [String] = []
        var index = 0
        while keys.count < count {
            if try partition("k\(index)") == target { keys.append("k\(index)") }
            index += 1
        }
        return (target, keys)
    }

    /// What member `index` says of its replica of `orders`/`partition` in `/v1/cluster`.
    static func replica(_ cluster: TestCluster, _ index: Int, partition: Int) async throws -> [String: Any] {
        let response = try await cluster.client(index).send(method: .GET, path: "/v1/cluster")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let partitions = object?["leader_partitions"] as? [[String: Any]] ?? []
        return partitions.first { $0["keyspace"] as? String == "orders" && $0["partition"] as? Int == partition } ?? [:]
    }

    @Test func aFollowerDownPastTheRetentionBudgetComesBackThroughASnapshot() async throws {
        let cluster = try await TestCluster(nodes: 3, extraArguments: ["--leader-log-retain-bytes", "65536"])
        try await cluster.createKeyspace("orders", definitionJSON: LeaderClusterTests.definition)
        let (partition, keys) = try Self.keys(count: 50)
        var leader: String?
        try await TestCluster.eventually("the partition has a leader") {
            let response = try await cluster.client(0).put(keyspace: "orders", key: keys[0], value: Array("first".utf8))
            leader = response.header(HeaderNames.leader)
            return response.status == 204
        }
        let leaderIndex = try #require(cluster.members.firstIndex { $0.id == leader })
        let followerIndex = (leaderIndex + 1) % 3
        let follower = cluster.members[followerIndex].id
        let client = try cluster.client(leaderIndex)
        cluster.nodes[followerIndex].kill9()

        // 500 KiB of ack=all overwrites (the first waits for the ISR to drop the follower).
        var latest: [String: (token: String, value: [UInt8])] = [:]
        for round in 0..<10 {
            for key in keys {
                let value = Array("\(key) round \(round) ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
                // A 503 wrote nothing (on a loaded machine a lease renewal can come late): retry.
                var response = try await client.put(keyspace: "orders", key: key, value: value)
                for _ in 0..<50 where response.status == 503 {
                    try await Task.sleep(for: .milliseconds(100))
                    response = try await client.put(keyspace: "orders", key: key, value: value)
                }
                #expect(response.status == 204, "\(response.bodyText)")
                if let token = response.header(HeaderNames.version) { latest[key] = (token, value) }
            }
        }
        let trimmed = try await Self.replica(cluster, leaderIndex, partition: partition)
        let logStart = trimmed["log_start"] as? Int ?? 0
        #expect(logStart > 100, "the leader trimmed its log: \(trimmed)")
        #expect((trimmed["log_bytes"] as? Int ?? .max) <= 65536 + 16384, "\(trimmed)")
        #expect(!(trimmed["in_sync"] as? [String] ?? []).contains(follower))

        // The follower comes back below the log's start: a snapshot, then the entries after it.
        try cluster.start(followerIndex)
        try await cluster.nodes[followerIndex].waitUntilHealthy()
        try await TestCluster.eventually("the follower catches up and rejoins the ISR", seconds: 60) {
            let leading = try await Self.replica(cluster, leaderIndex, partition: partition)
            let following = try await Self.replica(cluster, followerIndex, partition: partition)
            return (leading["in_sync"] as? [String] ?? []).contains(follower)
                && following["installing_snapshot"] as? Bool == false
                && following["last"] as? Int == leading["last"] as? Int
        }
        let metrics = try await cluster.client(followerIndex).send(method: .GET, path: "/metrics")
        #expect(metrics.bodyText.contains(#"ringstore_leader_snapshots_total{outcome="installed"} "#))
        let back = try await Self.replica(cluster, followerIndex, partition: partition)
        #expect((back["log_start"] as? Int ?? 0) > logStart, "it started from a snapshot: \(back)")

        // Every acknowledged write is readable there with its token.
        let reader = try cluster.client(followerIndex)
        for (key, written) in latest {
            let response = try await reader.get(
                keyspace: "orders", key: key, parameters: [("read", "follower"), ("after", written.token)])
            #expect(response.status == 200 && response.body == written.value, "\(key): \(response.bodyText.prefix(80))")
        }
        cluster.stopAll()
    }
}
