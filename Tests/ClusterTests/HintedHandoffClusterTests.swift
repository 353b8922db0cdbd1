import Foundation
import RingstoreClient
import Testing
import Wire

/// Real processes: with an owner killed (`kill -9`), sloppy writes land on a fallback as
/// hints and strict ones are refused; the fallback hands the hints over once the owner
/// is back, and the owner then answers every such key from its own copy (no read of the
/// key ran in between, so no read repair did it).
@Suite(.serialized) struct HintedHandoffClusterTests {
    @Test func sloppyWritesKeepHintsForAKilledOwnerAndHandThemOverWhenItReturns() async throws {
        let cluster = try await TestCluster(nodes: 3)
        let clients = try (0..<3).map { try cluster.client($0) }
        // N = 2 on three nodes: every key has one fallback.
        try await cluster.createKeyspace(
            "handoff", definitionJSON: #"{"conflict":"vv","replication_factor":2,"sloppy":true}"#)

        cluster.nodes[2].kill9()
        var hinted: [String: String] = [:]
        for i in 0..<40 {
            let response = try await clients[i % 2].put(
                keyspace: "handoff", key: "k\(i)", value: Array("v\(i)".utf8), parameters: [("w", "2")])
            #expect(response.status == 204, "\(response.bodyText)")
            if let owners = response.header(HeaderNames.hinted) {
                #expect(owners == "n3")
                hinted["k\(i)"] = "v\(i)"
            }
        }
        #expect(hinted.count >= 5, "n3 owns about two thirds of the keys, yet only \(hinted.count) writes were hinted")
        // sloppy=false counts owners only: a key of n3's cannot get two acknowledgements.
        if let key = hinted.keys.sorted().first {
            let strict = try await clients[0].put(
                keyspace: "handoff", key: key, value: Array("strict".utf8),
                parameters: [("w", "2"), ("sloppy", "false"), ("timeout", "1000")])
            #expect(strict.status == 503, "\(strict.bodyText)")
            // A refused write may still be stored by the owner that answered (the 503 says
            // so); anti-entropy then gives n3 both values as siblings. Only the others are
            // n3's hints alone.
            hinted[key] = nil
        }
        try await TestCluster.eventually("n1 and n2 report the hints they keep for n3") {
            var kept = 0
            for index in 0..<2 { kept += try await cluster.view(from: index)["n3"]?["hints"] as? Int ?? 0 }
            return kept >= hinted.count
        }
        let status = try cluster.status()
        #expect(status.status == 0, "\(status.output)")

        try await cluster.start(2).waitUntilHealthy()
        try await TestCluster.eventually("the hints for n3 are handed over and deleted") {
            var kept = 0
            for index in 0..<2 { kept += try await cluster.view(from: index)["n3"]?["hints"] as? Int ?? 1 }
            return kept == 0
        }
        // n3 answers r=1 from its own copy first.
        let restarted = try cluster.client(2)
        for (key, value) in hinted.sorted(by: { $0.key < $1.key }) {
            let response = try await restarted.get(keyspace: "handoff", key: key, parameters: [("r", "1")])
            #expect(
                response.status == 200 && response.bodyText == value
                    && response.header(HeaderNames.replicaNames) == "n3",
                "\(key): \(response.status) \(response.bodyText) from \(response.header(HeaderNames.replicaNames) ?? "")"
            )
        }
        cluster.stopAll()
    }
}
