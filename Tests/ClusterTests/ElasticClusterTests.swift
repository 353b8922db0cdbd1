import Foundation
import RingstoreClient
import Synchronization
import Testing

/// Real processes (issue 16): a leaderless cluster grows 3 -> 4 -> 5 and shrinks back to
/// 3 through `cluster join|leave` and `cluster commit` while clients write unique keys at
/// `w=quorum` through the nodes that stay; no write fails and every acknowledged one
/// reads at `r=all` afterwards. Then a killed node is replaced, and everything still reads.
@Suite(.serialized) struct ElasticClusterTests {
    /// Writes unique keys through `clients` until stopped: what was acknowledged, what failed.
    final class Writer: Sendable {
        let acknowledged = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let stopped = Atomic(false)

        func run(_ clients: [RingstoreClient], prefix: String) async {
            var i = 0
            let end = ContinuousClock.now + .seconds(240)
            while !stopped.load(ordering: .relaxed), ContinuousClock.now < end {
                let key = "\(prefix)-\(i)"
                do {
                    let response = try await clients[i % clients.count].put(
                        keyspace: "kv", key: key, value: Array(key.utf8), parameters: [("w", "quorum")])
                    if response.status == 204 {
                        acknowledged.withLock { $0.append(key) }
                    } else {
                        failures.withLock { $0.append("\(key): \(response.status) \(response.bodyText)") }
                    }
                } catch {
                    failures.withLock { $0.append("\(key): \(error)") }
                }
                i += 1
            }
        }
    }

    /// Commits the staged change `arguments` and waits until no partition moves any more.
    static func change(_ cluster: TestCluster, _ arguments: [String], observer: Int = 0) async throws {
        let staged = try cluster.cli(arguments)
        #expect(staged.status == 0, "\(arguments): \(staged.output)")
        let plan = try cluster.cli(["plan"])
        #expect(plan.output.contains("bytes to move: about"), "\(plan.output)")
        let committed = try cluster.cli(["commit"])
        #expect(committed.status == 0 && committed.output.contains("committed: ring version"), "\(committed.output)")
        let version =
            Int(
                committed.output.split(separator: "ring version ").last?.prefix { $0.isNumber } ?? "") ?? Int.max
        try await TestCluster.eventually("the moves of `\(arguments.joined(separator: " "))` end", seconds: 120) {
            let document = try await cluster.clusterDocument(from: observer)
            return document["ring_version"] as? Int ?? 0 > version && (document["transfers"] as? [Any])?.isEmpty == true
                && (document["nodes"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String != "joining" } == true
        }
    }

    /// Every key reads with its value at `r=all` through `client`.
    static func expectReadable(_ keys: [String], through client: RingstoreClient) async throws {
        var missing: [String] = []
        for key in keys {
            let response = try await client.get(keyspace: "kv", key: key, parameters: [("r", "all")])
            if response.status != 200 || response.bodyText != key { missing.append("\(key): \(response.status)") }
        }
        #expect(missing.count == 0, "\(missing.count) of \(keys.count) unreadable, e.g. \(missing.prefix(5))")
    }

    @Test func theClusterGrowsAndShrinksUnderWritesAndAKilledNodeIsReplaced() async throws {
        let cluster = try await TestCluster(nodes: 3, extraArguments: ["--transfer-bytes-per-second", "0"])
        try await cluster.createKeyspace("kv", definitionJSON: #"{"conflict":"lww"}"#)
        let staying = try [cluster.client(0), cluster.client(1)]
        // Data to move: 1,500 keys before anything changes.
        var preloaded: [String] = []
        for i in 0..<1_500 {
            let response = try await staying[i % 2].put(
                keyspace: "kv", key: "pre-\(i)", value: Array("pre-\(i)".utf8), parameters: [("w", "all")])
            #expect(response.status == 204, "\(response.bodyText)")
            preloaded.append("pre-\(i)")
        }
        let writer = Writer()
        let writing = Task { await writer.run(staying, prefix: "live") }

        let n4 = try await cluster.addMember()
        #expect(try cluster.status().output.contains("n4          alive outside"), "n4 registered, holding nothing")
        try await Self.change(cluster, ["join", "n4"])
        try await cluster.addMember()
        try await Self.change(cluster, ["join", "n5"])
        let grown = try cluster.status().output
        #expect(grown.contains("transfers: none in progress") && !grown.contains("outside"), "\(grown)")
        try await Self.change(cluster, ["leave", "n5"])
        #expect(try cluster.status().output.contains("n5          alive outside"))
        cluster.nodes[4].terminate()
        try await Self.change(cluster, ["leave", "n4"])
        cluster.nodes[n4].terminate()

        writer.stopped.store(true, ordering: .relaxed)
        await writing.value
        let acknowledged = writer.acknowledged.withLock { $0 }
        let failures = writer.failures.withLock { $0 }
        #expect(failures.count == 0, "\(failures.count) writes failed, e.g. \(failures.prefix(5))")
        #expect(acknowledged.count > 100, "the writer wrote through every change")
        try await Self.expectReadable(preloaded + acknowledged, through: staying[0])

        // A node dies for good: a new one takes its place, copying from the two left.
        cluster.nodes[2].kill9()
        try await cluster.addMember()
        try await Self.change(cluster, ["replace", "n3", "n6"])
        try await Self.expectReadable(preloaded + acknowledged, through: cluster.client(5))
        cluster.stopAll()
    }
}
