import NIOCore
import NIOHTTP1
import NIOPosix
import Wire

/// A response from a Ringstore node.
public struct ClientResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A failure to talk to a node at all (as opposed to an error response).
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A typed client for the HTTP API of DESIGN section 8. Each call opens one HTTP/1.1
/// connection to the endpoint (simple and robust against a node restarting).
public struct RingstoreClient: Sendable {
    public let host: String
    public let port: Int
    let group: any EventLoopGroup
    /// Deadline for one whole request.
    public var timeout: Duration

    /// `endpoint` is `http://HOST:PORT` (or `HOST:PORT`).
    public init(
        endpoint: String, timeout: Duration = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        var rest = Substring(endpoint)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port),
            colon > rest.startIndex
        else { throw ClientError("endpoint must look like http://127.0.0.1:8080, not '\(endpoint)'") }
        host = String(rest[..<colon])
        self.port = port
        self.group = group
        self.timeout = timeout
    }

    // MARK: Key-value

    public func put(
        keyspace: String, key: String, value: [UInt8], contentType: String? = nil, context: String? = nil,
        parameters: [(String, String)] = []
    ) async throws -> ClientResponse {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let context { headers.append((HeaderNames.context, context)) }
        return try await send(method: .PUT, path: Self.kvPath(keyspace, key, parameters), headers: headers, body: value)
    }

    public func get(keyspace: String, key: String, parameters: [(String, String)] = []) async throws -> ClientResponse {
        try await send(method: .GET, path: Self.kvPath(keyspace, key, parameters))
    }

    public func delete(keyspace: String, key: String, context: String? = nil, parameters: [(String, String)] = [])
        async throws -> ClientResponse
    {
        try await send(
            method: .DELETE, path: Self.kvPath(keyspace, key, parameters),
            headers: context.map { [(HeaderNames.context, $0)] } ?? [])
    }

    public func createKeyspace(_ name: String, definitionJSON: String = "{}") async throws -> ClientResponse {
        try await send(
            method: .PUT, path: "/v1/keyspaces/" + Self.escape(name), headers: [("Content-Type", "application/json")],
            body: Array(definitionJSON.utf8))
    }

    public func listKeyspaces() async throws -> ClientResponse {
        try await send(method: .GET, path: "/v1/keyspaces")
    }

    public static func kvPath(_ keyspace: String, _ key: String, _ parameters: [(String, String)]) -> String {
        var path = "/v1/kv/" + escape(keyspace) + "/" + escape(key)
        if !parameters.isEmpty {
            path += "?" + parameters.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
        }
        return path
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }

    // MARK: Transport

    /// Sends any request (for tests of methods and headers the typed calls do not make).
    public func send(method: HTTPMethod, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil)
        async throws -> ClientResponse
    {
        try await withThrowingTaskGroup(of: ClientResponse.self) { tasks in
            tasks.addTask { try await exchange(method: method, path: path, headers: headers, body: body) }
            tasks.addTask {
                try await Task.sleep(for: timeout)
                throw ClientError("no answer from \(host):\(port) within \(timeout)")
            }
            defer { tasks.cancelAll() }
            guard let first = try await tasks.next() else { throw ClientError("request cancelled") }
            return first
        }
    }

    private func exchange(method: HTTPMethod, path: String, headers: [(String, String)], body: [UInt8]?) async throws
        -> ClientResponse
    {
        let channel: NIOAsyncChannel<NIOHTTPClientResponseFull, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            NIOHTTPClientResponseAggregator(maxContentLength: 256 << 20))
                        return try NIOAsyncChannel<NIOHTTPClientResponseFull, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ClientError("cannot connect to \(host):\(port): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
            // A server may answer (413) and close before reading the whole body: a failed
            // write is reported only if no response arrives either.
            var writeError: (any Error)?
            do {
                try await outbound.write(.head(head))
                if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))
            } catch {
                writeError = error
            }
            do {
                for try await response in inbound {
                    let bytes = response.body.map { Array($0.readableBytesView) } ?? []
                    return ClientResponse(
                        status: Int(response.head.status.code),
                        headers: response.head.headers.map { ($0.name, $0.value) },
                        body: bytes
                    )
                }
            } catch {
                throw ClientError("request to \(host):\(port) failed: \(writeError ?? error)")
            }
            throw ClientError(
                "the connection to \(host):\(port) closed before a response arrived\(writeError.map { " (\($0))" } ?? "")"
            )
        }
    }
}
