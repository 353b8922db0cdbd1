import Foundation
import RingstoreClient
import Testing
import Wire

/// Real processes: writes a node missed while it was down (strict quorum, so no hints)
/// reach it through anti-entropy alone: no read of those keys runs until the node
/// reports every partition replica converged, and then it answers each from its own copy.
@Suite(.serialized) struct AntiEntropyClusterTests {
    @Test func aRestartedNodeGetsTheWritesItMissedWithoutAnyRead() async throws {
        let cluster = try await TestCluster(nodes: 3, extraArguments: ["--anti-entropy-interval-ms", "10"])
        let clients = try (0..<3).map { try cluster.client($0) }
        try await cluster.createKeyspace("ae", definitionJSON: #"{"conflict":"vv"}"#)

        cluster.nodes[2].kill9()
        var written: [String: String] = [:]
        for i in 0..<30 {
            let response = try await clients[i % 2].put(
                keyspace: "ae", key: "missed-\(i)", value: Array("v\(i)".utf8), parameters: [("w", "2")])
            #expect(response.status == 204, "\(response.bodyText)")
            #expect(response.header(HeaderNames.hinted) == nil, "a strict write leaves no hint")
            written["missed-\(i)"] = "v\(i)"
        }

        try await cluster.start(2).waitUntilHealthy()
        try await TestCluster.eventually("n3 converged every partition replica it holds") {
            let response = try await clients[2].send(method: .GET, path: "/v1/cluster")
            let view = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let replicas = view?["anti_entropy"] as? [[String: Any]] ?? []
            return !replicas.isEmpty && replicas.allSatisfy { $0["converged_ms_ago"] is Int }
        }
        let metrics = try await clients[2].send(method: .GET, path: "/metrics").bodyText
        #expect(metrics.contains("ringstore_anti_entropy_repaired_keys_total"), "\(metrics.prefix(200))")
        for (key, value) in written.sorted(by: { $0.key < $1.key }) {
            let response = try await clients[2].get(keyspace: "ae", key: key, parameters: [("r", "1")])
            #expect(
                response.status == 200 && response.bodyText == value
                    && response.header(HeaderNames.replicaNames) == "n3",
                "\(key): \(response.status) \(response.bodyText) from \(response.header(HeaderNames.replicaNames) ?? "")"
            )
        }
        let status = try cluster.status()
        #expect(status.output.contains("anti-entropy"), "\(status.output)")
        cluster.stopAll()
    }
}
