import Foundation
import RingstoreClient
import Testing
import Wire

/// Real processes: etcd and three `ringstore serve` members on 127.0.0.1. With one node
/// killed (`kill -9`), `w=2`/`r=2` keep working and see every acknowledged write, `w=3`
/// is refused with `answered: 2`; the restarted node catches up through read repair.
@Suite(.serialized) struct LeaderlessClusterTests {
    func eventually(_ what: String, _ check: () async throws -> Bool) async throws {
        try await TestCluster.eventually(what, check)
    }

    @Test func quorumsSurviveAKilledNodeThatThenCatchesUpThroughReadRepair() async throws {
        let cluster = try await TestCluster(nodes: 3)
        let etcd = cluster.etcd
        let clients = try (0..<3).map { try cluster.client($0) }

        let created = try await clients[0].createKeyspace("kv", definitionJSON: #"{"conflict":"vv"}"#)
        #expect(created.status == 201, "\(created.bodyText)")
        // Usable at once through another node, at w=all: nodes that do not know the keyspace yet ask etcd.
        let first = try await clients[1].put(keyspace: "kv", key: "first", value: [1], parameters: [("w", "all")])
        #expect(first.status == 204, "\(first.bodyText)")
        for client in clients {
            try await eventually("every node knows keyspace kv") {
                try await client.send(method: .GET, path: "/v1/keyspaces/kv").status == 200
            }
        }

        // Writes through every node at w=2; every one acknowledged by 2 or more replicas.
        var written: [String: String] = [:]
        for i in 0..<30 {
            let response = try await clients[i % 3].put(
                keyspace: "kv", key: "before-\(i)", value: Array("value \(i)".utf8), parameters: [("w", "2")])
            #expect(response.status == 204, "\(response.bodyText)")
            #expect(Int(response.header(HeaderNames.replicas) ?? "") ?? 0 >= 2)
            written["before-\(i)"] = "value \(i)"
        }

        cluster.nodes[2].kill9()
        // n1's failure detector suspects n3 soon after its heartbeats stop, and n3 more than n2
        // (n2 may look slow too on a loaded machine, so no absolute claim about it).
        try await eventually("n1 suspects n3") {
            let view = try await cluster.view(from: 0)
            guard let n3 = view["n3"]?["phi"] as? Double, let n2 = view["n2"]?["phi"] as? Double else { return false }
            return n3 > 8 && n2 < n3
        }
        for i in 0..<30 {
            let response = try await clients[i % 2].put(
                keyspace: "kv", key: "during-\(i)", value: Array("down \(i)".utf8), parameters: [("w", "2")])
            #expect(response.status == 204, "\(response.bodyText)")
            written["during-\(i)"] = "down \(i)"
        }
        for (key, value) in written {
            let response = try await clients[1].get(keyspace: "kv", key: key, parameters: [("r", "2")])
            #expect(
                response.status == 200 && response.bodyText == value, "\(key): \(response.status) \(response.bodyText)")
        }
        let all = try await clients[0].put(
            keyspace: "kv", key: "needs-all", value: Array("x".utf8), parameters: [("w", "3"), ("timeout", "1000")])
        #expect(all.status == 503)
        let problem = try JSONSerialization.jsonObject(with: Data(all.body)) as? [String: Any]
        #expect(problem?["required"] as? Int == 3)
        #expect(problem?["answered"] as? Int == 2, "\(all.bodyText)")

        // Restart n3 on its data; reads at r=all repair what it missed.
        try await cluster.start(2).waitUntilHealthy()
        let restarted = try cluster.client(2)
        for key in written.keys where key.hasPrefix("during-") {
            try await eventually("\(key) is readable at r=all") {
                try await clients[0].get(keyspace: "kv", key: key, parameters: [("r", "all")]).status == 200
            }
        }
        // n3 answers r=1 from its own copy first: it now has every write it missed.
        for (key, value) in written where key.hasPrefix("during-") {
            try await eventually("n3 has \(key) after read repair") {
                let response = try await restarted.get(keyspace: "kv", key: key, parameters: [("r", "1")])
                return response.status == 200 && response.bodyText == value
                    && response.header(HeaderNames.replicaNames) == "n3"
            }
        }
        let status = try cluster.status()
        #expect(status.status == 0 && status.output.contains("n3          alive"), "\(status.output)")
        // A node that stops gracefully leaves the registry at once (its lease is revoked).
        cluster.nodes[1].terminate()
        let stopped = try cluster.status()
        #expect(stopped.output.contains("n2          down"), "\(stopped.output)")
        try await cluster.start(1).waitUntilHealthy()

        // etcd gone: reads and writes go on from the cached ring; keyspace creation waits.
        etcd.kill9()
        for i in 0..<10 {
            let put = try await clients[i % 3].put(
                keyspace: "kv", key: "no-etcd-\(i)", value: Array("v\(i)".utf8), parameters: [("w", "2")])
            #expect(put.status == 204, "\(put.bodyText)")
            let get = try await clients[(i + 1) % 3].get(keyspace: "kv", key: "no-etcd-\(i)", parameters: [("r", "2")])
            #expect(get.status == 200 && get.bodyText == "v\(i)", "\(get.bodyText)")
        }
        let refused = try await clients[0].createKeyspace("later", definitionJSON: "{}")
        #expect(refused.status == 503, "\(refused.bodyText)")
        // A node restarted while etcd is down starts from its cached ring and peer addresses.
        cluster.nodes[2].kill9()
        try await cluster.start(2).waitUntilHealthy()
        let again = try cluster.client(2)
        for i in 0..<5 {
            let put = try await again.put(
                keyspace: "kv", key: "restarted-\(i)", value: Array("r\(i)".utf8), parameters: [("w", "3")])
            #expect(put.status == 204, "\(put.bodyText)")
        }
        cluster.stopAll()
    }
}
