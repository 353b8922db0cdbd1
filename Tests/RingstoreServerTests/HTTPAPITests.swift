import Foundation
import NIOHTTP1
import RingstoreClient
import Testing

@Suite struct HTTPAPITests {
    @Test func putGetDeleteRoundTrip() async throws {
        let node = try await RunningNode.start()
        let value = Array("{\"name\":\"ada\"}".utf8)
        let put = try await node.client.put(
            keyspace: "default", key: "user/1 é", value: value, contentType: "application/json")
        #expect(put.status == 204)
        let context = try #require(put.header("X-Ringstore-Context"))
        let got = try await node.client.get(keyspace: "default", key: "user/1 é")
        #expect(got.status == 200)
        #expect(got.body == value)
        #expect(got.header("Content-Type") == "application/json")
        #expect(got.header("X-Ringstore-Context") == context)
        #expect(got.header("X-Ringstore-Replicas") == "1")
        let overwrite = try await node.client.put(
            keyspace: "default", key: "user/1 é", value: [0, 1, 2, 255], context: context)
        #expect(overwrite.status == 204)
        let binary = try await node.client.get(keyspace: "default", key: "user/1 é")
        #expect(binary.body == [0, 1, 2, 255])
        #expect(binary.header("Content-Type") == "application/octet-stream")
        #expect(try await node.client.delete(keyspace: "default", key: "user/1 é").status == 204)
        #expect(try await node.client.get(keyspace: "default", key: "user/1 é").status == 404)
        await node.stop()
    }

    @Test func keyspacesAreCreatedListedAndSurviveRestart() async throws {
        var node = try await RunningNode.start()
        let directory = node.directory
        let created = try await node.client.createKeyspace(
            "users", definitionJSON: "{\"mode\":\"leaderless\",\"conflict\":\"lww\"}")
        #expect(created.status == 201)
        #expect(try await node.client.createKeyspace("users", definitionJSON: "{\"conflict\":\"lww\"}").status == 200)
        #expect(try await node.client.put(keyspace: "users", key: "k", value: [1]).status == 204)
        await node.stop()
        node = try await RunningNode.start { $0.dataDirectory = directory }
        let list = try await node.client.listKeyspaces()
        #expect(list.bodyText.contains("\"users\""))
        #expect(list.bodyText.contains("\"default\""))
        #expect(try await node.client.get(keyspace: "users", key: "k").body == [1])
        await node.stop()
    }

    /// Every bad input gets its problem+json status, and the node keeps serving.
    @Test func badInputGetsProblemJSONAndTheNodeStaysUp() async throws {
        let node = try await RunningNode.start()
        let c = node.client
        #expect(try await c.put(keyspace: "default", key: "keep", value: [42]).status == 204)
        let cases: [(String, Int, String, () async throws -> ClientResponse)] = [
            (
                "key over the limit", 414, "key-too-large",
                { try await c.put(keyspace: "default", key: String(repeating: "k", count: 65), value: [1]) }
            ),
            (
                "value over the limit", 413, "value-too-large",
                { try await c.put(keyspace: "default", key: "big", value: [UInt8](repeating: 1, count: 5000)) }
            ),
            ("unknown keyspace", 404, "unknown-keyspace", { try await c.get(keyspace: "nope", key: "k") }),
            (
                "invalid keyspace name", 400, "invalid-keyspace-name",
                { try await c.put(keyspace: "Bad Name!", key: "k", value: [1]) }
            ),
            ("invalid keyspace name on create", 400, "invalid-keyspace-name", { try await c.createKeyspace("_x") }),
            (
                "keyspace body not JSON", 400, "invalid-keyspace-definition",
                { try await c.createKeyspace("ks", definitionJSON: "{nope") }
            ),
            (
                "keyspace unknown mode", 400, "invalid-keyspace-definition",
                { try await c.createKeyspace("ks", definitionJSON: "{\"mode\":\"raft\"}") }
            ),
            (
                "keyspace unknown field", 400, "invalid-keyspace-definition",
                { try await c.createKeyspace("ks", definitionJSON: "{\"replicas\":2}") }
            ),
            (
                "keyspace N above cluster", 400, "invalid-keyspace-definition",
                { try await c.createKeyspace("ks", definitionJSON: "{\"replication_factor\":3}") }
            ),
            (
                "unknown parameter", 400, "invalid-parameter",
                { try await c.get(keyspace: "default", key: "k", parameters: [("colour", "red")]) }
            ),
            (
                "bad consistency value", 400, "invalid-parameter",
                { try await c.put(keyspace: "default", key: "k", value: [1], parameters: [("w", "most")]) }
            ),
            (
                "unmeetable consistency", 503, "unavailable",
                { try await c.put(keyspace: "default", key: "k", value: [1], parameters: [("w", "3")]) }
            ),
            (
                "malformed context header", 400, "invalid-context",
                { try await c.put(keyspace: "default", key: "k", value: [1], context: "!!not-base64!!") }
            ),
            (
                "truncated context header", 400, "invalid-context",
                { try await c.put(keyspace: "default", key: "k", value: [1], context: "AQEA") }
            ),
            (
                "bad percent-encoding in key", 400, "invalid-key",
                { try await c.send(method: .GET, path: "/v1/kv/default/%zz") }
            ),
            (
                "bad percent-encoding in query", 400, "invalid-parameter",
                { try await c.send(method: .GET, path: "/v1/kv/default/k?r=%") }
            ),
            ("empty key", 400, "invalid-key", { try await c.send(method: .GET, path: "/v1/kv/default/") }),
            ("no key segment", 400, "invalid-key", { try await c.send(method: .GET, path: "/v1/kv/default") }),
            (
                "unsupported method", 405, "method-not-allowed",
                { try await c.send(method: .POST, path: "/v1/kv/default/k", body: [1]) }
            ),
            (
                "unsupported method on keyspaces", 405, "method-not-allowed",
                { try await c.send(method: .DELETE, path: "/v1/keyspaces/default") }
            ),
            (
                "huge content type", 400, "invalid-parameter",
                {
                    try await c.put(
                        keyspace: "default", key: "k", value: [1], contentType: String(repeating: "t", count: 70_000))
                }
            ),
            (
                "keyspace definition over the limit", 400, "invalid-keyspace-definition",
                {
                    try await c.createKeyspace(
                        "ks", definitionJSON: "{\"mode\":\"" + String(repeating: " ", count: 2_000) + "\"}")
                }
            ),
            ("unknown route", 404, "no-such-route", { try await c.send(method: .GET, path: "/v2/everything") }),
        ]
        for (name, status, type, call) in cases {
            let response = try await call()
            #expect(response.status == status, "\(name): got \(response.status) \(response.bodyText)")
            #expect(response.header("Content-Type") == "application/problem+json", "\(name)")
            let problem = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            #expect(
                problem?["type"] as? String == "https://ringstore.dev/problems/" + type, "\(name): \(response.bodyText)"
            )
            #expect(problem?["status"] as? Int == status, "\(name)")
            #expect((problem?["detail"] as? String)?.isEmpty == false, "\(name)")
            #expect(try await c.send(method: .GET, path: "/healthz").status == 200, "node down after \(name)")
        }
        #expect(try await c.get(keyspace: "default", key: "keep").body == [42], "stored data changed by bad input")
        await node.stop()
    }

    @Test func concurrentCreationsOfOneKeyspaceHaveOneWinner() async throws {
        let node = try await RunningNode.start()
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<12 {
                let conflict = i % 2 == 0 ? "vv" : "lww"
                group.addTask {
                    let response = try await node.client.createKeyspace(
                        "race", definitionJSON: "{\"conflict\":\"\(conflict)\"}")
                    return (response.status, conflict)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let winners = statuses.filter { $0.0 == 201 }
        #expect(winners.count == 1, "\(statuses)")
        #expect(statuses.allSatisfy { [200, 201, 409].contains($0.0) }, "\(statuses)")
        let stored = try await node.client.send(method: .GET, path: "/v1/keyspaces/race")
        #expect(stored.bodyText.contains("\"conflict\":\"\(winners.first?.1 ?? "?")\""), "\(stored.bodyText)")
        await node.stop()
    }

    @Test func malformedHTTPDoesNotTakeTheNodeDown() async throws {
        let node = try await RunningNode.start()
        let port = try await node.server.http.boundPort()
        for garbage in [
            "GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "PUT /v1/kv/default/k HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            String(repeating: "A", count: 100_000),
        ] {
            RawSocket.sendAndClose(port: port, Array(garbage.utf8))
        }
        #expect(try await node.client.send(method: .GET, path: "/healthz").status == 200)
        await node.stop()
    }

    @Test func metricsAndProbesAnswer() async throws {
        let node = try await RunningNode.start()
        _ = try await node.client.put(keyspace: "default", key: "k", value: [1])
        #expect(try await node.client.send(method: .GET, path: "/readyz").status == 200)
        let metrics = try await node.client.send(method: .GET, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.bodyText.contains("ringstore_http_requests_total"))
        #expect(metrics.bodyText.contains("ringstore_store_fsync_duration_seconds"))
        await node.stop()
    }
}
