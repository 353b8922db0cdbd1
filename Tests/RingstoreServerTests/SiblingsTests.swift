import Foundation
import RingstoreClient
import Testing

/// Version vectors over HTTP on one node: writes without a context become siblings, a
/// read answers 300 with all of them, a write with the read's context replaces exactly
/// those, and the sibling limit answers 409 instead of growing the key without bound.
@Suite struct SiblingsTests {
    struct Document: Decodable {
        struct Entry: Decodable {
            var value: String
            var contentType: String
            var version: String

            enum CodingKeys: String, CodingKey {
                case value
                case contentType = "content_type"
                case version
            }
        }
        var siblings: [Entry]
    }

    @Test func concurrentWritesBecomeSiblingsAndAContextResolvesThem() async throws {
        let node = try await RunningNode.start { $0.limits.siblingsMax = 3 }
        let created = try await node.client.createKeyspace("carts", definitionJSON: #"{"conflict":"vv"}"#)
        #expect(created.status == 201)
        for fruit in ["apple", "pear", "plum"] {
            let put = try await node.client.put(keyspace: "carts", key: "ada", value: Array(fruit.utf8))
            #expect(put.status == 204)
        }
        let read = try await node.client.get(keyspace: "carts", key: "ada")
        #expect(read.status == 300)
        #expect(read.header("Content-Type") == "application/json")
        let document = try JSONDecoder().decode(Document.self, from: Data(read.body))
        let values = document.siblings.compactMap { Data(base64Encoded: $0.value) }.map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(values.sorted() == ["apple", "pear", "plum"])

        let fourth = try await node.client.put(keyspace: "carts", key: "ada", value: Array("fig".utf8))
        #expect(fourth.status == 409, "a fourth sibling is beyond the limit of 3")
        #expect(fourth.bodyText.contains("too-many-siblings"))

        let context = try #require(read.header("X-Ringstore-Context"))
        let resolved = try await node.client.put(
            keyspace: "carts", key: "ada", value: Array("apple,pear,plum".utf8), context: context)
        #expect(resolved.status == 204)
        let after = try await node.client.get(keyspace: "carts", key: "ada")
        #expect(after.status == 200 && after.bodyText == "apple,pear,plum")

        // A stale context (the one from before the resolution) replaces nothing new: a sibling again.
        let stale = try await node.client.put(
            keyspace: "carts", key: "ada", value: Array("kiwi".utf8), context: context)
        #expect(stale.status == 204)
        #expect(try await node.client.get(keyspace: "carts", key: "ada").status == 300)

        // A delete with the current context removes every value; the key reads as missing.
        let current = try #require(
            try await node.client.get(keyspace: "carts", key: "ada").header("X-Ringstore-Context"))
        #expect(try await node.client.delete(keyspace: "carts", key: "ada", context: current).status == 204)
        #expect(try await node.client.get(keyspace: "carts", key: "ada").status == 404)
        await node.stop()
    }

    @Test func lastWriteWinsKeepsOneValue() async throws {
        let node = try await RunningNode.start()
        #expect(try await node.client.createKeyspace("flags", definitionJSON: #"{"conflict":"lww"}"#).status == 201)
        for value in ["on", "off", "on"] {
            #expect(try await node.client.put(keyspace: "flags", key: "f", value: Array(value.utf8)).status == 204)
        }
        let read = try await node.client.get(keyspace: "flags", key: "f")
        #expect(read.status == 200 && read.bodyText == "on")
        await node.stop()
    }
}
