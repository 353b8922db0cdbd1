import NIOCore
import Testing

@testable import RingstoreBenchKit

@Suite struct RESPDecoderTests {
    static let replies: [(String, RESPValue)] = [
        ("+OK\r\n", .simple("OK")),
        ("-ERR wrong type\r\n", .error("ERR wrong type")),
        (":2\r\n", .integer(2)),
        ("$5\r\nhello\r\n", .bulk(ByteBuffer(string: "hello"))),
        ("$0\r\n\r\n", .bulk(ByteBuffer())),
        ("$-1\r\n", .bulk(nil)),
        ("*2\r\n$1\r\na\r\n:7\r\n", .array([.bulk(ByteBuffer(string: "a")), .integer(7)])),
        ("*-1\r\n", .array(nil)),
    ]

    @Test func decodesEveryReplyWhereverTheStreamIsSplit() throws {
        let stream = Self.replies.map(\.0).joined()
        let bytes = Array(stream.utf8)
        for split in 0...bytes.count {
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var decoded: [RESPValue] = []
            while let value = try decoder.decode(buffer: &buffer) { decoded.append(value) }
            buffer.writeBytes(bytes[split...])
            while let value = try decoder.decode(buffer: &buffer) { decoded.append(value) }
            #expect(decoded == Self.replies.map(\.1), "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func rejectsWhatIsNotRESP() {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
        #expect(throws: RESPProtocolError.self) { try decoder.decode(buffer: &buffer) }
        var length = ByteBuffer(string: "$abc\r\n")
        #expect(throws: RESPProtocolError.self) { try decoder.decode(buffer: &length) }
    }

    @Test func commandsAreArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPCommand.write([.text("SET"), .text("k"), .bytes(ByteBuffer(string: "vv"))], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n")
    }
}
