import NIOCore
import NIOHTTP1

/// A whole request as the router sees it: head, decoded path and query, body.
struct HTTPRequest: Sendable {
    var route: Router.Route
    var method: HTTPMethod
    var path: String
    var query: [(String, String)]
    var headers: HTTPHeaders
    var body: ByteBuffer

    /// Splits the target into a path and percent-decoded query pairs; nil if malformed.
    static func parseTarget(_ uri: String) -> (path: String, query: [(String, String)])? {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, []) }
        let path = String(uri[..<mark])
        let rawQuery = uri[uri.index(after: mark)...]
        var query: [(String, String)] = []
        if !rawQuery.isEmpty {
            for pair in rawQuery.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = PercentDecoding.decode(kv[0].utf8),
                    let value = PercentDecoding.decode(kv.count == 2 ? kv[1].utf8 : "".utf8[...])
                else { return nil }
                query.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        }
        return (path, query)
    }
}

/// A whole response.
struct HTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer?

    init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// RFC 3986 percent-decoding of path segments and query components.
enum PercentDecoding {
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var iterator = text.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                out.append(high << 4 | low)
            } else {
                out.append(byte)
            }
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
