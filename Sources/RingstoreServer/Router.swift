import Foundation
import NIOCore
import NIOHTTP1
import Prometheus
import RingstoreCore
import RingstoreNode
import Synchronization
import Wire

/// The HTTP API of DESIGN section 8 over one node. Reads answer synchronously on the
/// event loop (one `pread` from the page cache); writes await the group commit.
struct Router: Sendable {
    let node: Node
    let registry: PrometheusCollectorRegistry
    let readiness: Readiness

    enum Route: String {
        case kv = "/v1/kv"
        case keyspaces = "/v1/keyspaces"
        case health = "/healthz"
        case ready = "/readyz"
        case metrics = "/metrics"
        case unknown = "other"
    }

    static let contextHeader = HeaderNames.context

    /// Decides which route a path belongs to (for metrics too).
    static func route(of path: String) -> Route {
        let bytes = path.utf8
        if bytes.starts(with: kvPrefix) { return .kv }
        if bytes.elementsEqual("/v1/keyspaces".utf8) || bytes.starts(with: "/v1/keyspaces/".utf8) { return .keyspaces }
        return Route(rawValue: path) ?? .unknown
    }

    static let kvPrefix = Array("/v1/kv/".utf8)

    /// Handles what needs no waiting; nil means "call `handleDeferred`".
    func handleImmediately(_ request: HTTPRequest) -> HTTPResponse? {
        do throws(RingstoreError) {
            switch (request.route, request.method) {
            case (.kv, .GET), (.kv, .HEAD):
                return try get(request)
            case (.kv, .PUT), (.kv, .DELETE), (.keyspaces, .PUT):
                return nil
            case (.kv, _):
                return Router.methodNotAllowed(request.method, allowed: "GET, HEAD, PUT, DELETE")
            case (.keyspaces, .GET):
                return try listKeyspaces(request)
            case (.keyspaces, _):
                return Router.methodNotAllowed(request.method, allowed: "GET, PUT")
            case (.health, .GET):
                return Router.text("ok\n")
            case (.ready, .GET):
                return readiness.isReady
                    ? Router.text("ready\n")
                    : Problem(
                        status: .serviceUnavailable, code: "not-ready", detail: "the node is starting or stopping"
                    ).response()
            case (.metrics, .GET):
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/plain; version=0.0.4")
                return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: buffer))
            case (.health, _), (.ready, _), (.metrics, _):
                return Router.methodNotAllowed(request.method, allowed: "GET")
            case (.unknown, _):
                return Problem(status: .notFound, code: "no-such-route", detail: "no resource at \(request.path)")
                    .response()
            }
        } catch {
            return Problem(error).response()
        }
    }

    /// Handles what waits on the store or the catalog; `completion` runs once, on any thread.
    func handleDeferred(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        switch (request.route, request.method) {
        case (.kv, .PUT), (.kv, .DELETE):
            write(request, completion: completion)
        case (.keyspaces, .PUT):
            Task {
                do throws(RingstoreError) {
                    completion(try await createKeyspace(request))
                } catch {
                    completion(Problem(error).response())
                }
            }
        default:
            preconditionFailure("handleDeferred called for \(request.method) \(request.path)")
        }
    }

    // MARK: Key-value

    private struct KeyAddress {
        var keyspace: String
        var key: [UInt8]
    }

    /// `/v1/kv/{keyspace}/{key}`: the key is everything after the keyspace, percent-decoded.
    private func address(_ path: String) throws(RingstoreError) -> KeyAddress {
        let rest = path.utf8.dropFirst(Router.kvPrefix.count)
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else {
            throw RingstoreError(.invalidKey, "the path must be /v1/kv/{keyspace}/{key}")
        }
        let keyspace = String(decoding: rest[..<slash], as: UTF8.self)
        guard let key = PercentDecoding.decode(rest[rest.index(after: slash)...]) else {
            throw RingstoreError(.invalidKey, "the key is not valid percent-encoding")
        }
        return KeyAddress(keyspace: keyspace, key: key)
    }

    /// Parses the consistency parameters; rejects unknown parameters and bad values.
    private func consistency(_ request: HTTPRequest, names: Set<String>) throws(RingstoreError) -> ConsistencyLevel? {
        var level: ConsistencyLevel?
        for (name, value) in request.query {
            guard names.contains(name) || name == "consistency" else {
                throw RingstoreError(
                    .invalidParameter,
                    "unknown parameter '\(name)'; this request accepts \((names.sorted() + ["consistency"]).joined(separator: ", "))"
                )
            }
            level = try ConsistencyLevel(parsing: value)
        }
        return level
    }

    private func context(_ request: HTTPRequest) throws(RingstoreError) -> CausalContext? {
        guard let text = request.headers.first(name: Router.contextHeader) else { return nil }
        return try CausalContext(decoding: text)
    }

    private func get(_ request: HTTPRequest) throws(RingstoreError) -> HTTPResponse {
        let address = try address(request.path)
        let level = try consistency(request, names: ["r"])
        guard let result = try node.get(keyspace: address.keyspace, key: address.key, consistency: level) else {
            return Problem(status: .notFound, code: RingstoreError.Code.notFound.name, detail: "the key does not exist")
                .response(extraHeaders: replicaHeaders(acknowledged: 1, required: 1))
        }
        var headers = replicaHeaders(acknowledged: 1, required: 1)
        headers.add(name: "Content-Type", value: result.contentType ?? "application/octet-stream")
        headers.add(name: Router.contextHeader, value: result.context.encoded)
        headers.add(name: HeaderNames.version, value: result.version.description)
        let body = request.method == .HEAD ? nil : ByteBuffer(bytes: result.value)
        if request.method == .HEAD { headers.add(name: "Content-Length", value: String(result.value.count)) }
        return HTTPResponse(status: .ok, headers: headers, body: body)
    }

    /// PUT (the body is the value) or DELETE; answered from the store's completion.
    private func write(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let address: KeyAddress
        let level: ConsistencyLevel?
        let context: CausalContext?
        do throws(RingstoreError) {
            address = try self.address(request.path)
            level = try consistency(request, names: ["w"])
            context = try self.context(request)
        } catch {
            completion(Problem(error).response())
            return
        }
        let isPut = request.method == .PUT
        node.write(
            keyspace: address.keyspace, key: address.key, value: isPut ? Array(request.body.readableBytesView) : nil,
            contentType: isPut ? request.headers.first(name: "Content-Type") : nil, context: context,
            consistency: level
        ) { result in
            switch result {
            case .success(let written): completion(self.written(written, status: .noContent))
            case .failure(let error): completion(Problem(error).response())
            }
        }
    }

    private func written(_ result: WriteResult, status: HTTPResponseStatus) -> HTTPResponse {
        var headers = replicaHeaders(acknowledged: result.acknowledged, required: result.required)
        headers.add(name: Router.contextHeader, value: result.context.encoded)
        headers.add(name: HeaderNames.version, value: result.version.description)
        return HTTPResponse(status: status, headers: headers)
    }

    /// What the request achieved: replicas that answered, how many were needed, who coordinated.
    private func replicaHeaders(acknowledged: Int, required: Int) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: HeaderNames.replicas, value: String(acknowledged))
        headers.add(name: HeaderNames.required, value: String(required))
        headers.add(name: HeaderNames.coordinator, value: node.id.name)
        return headers
    }

    // MARK: Keyspaces

    private func listKeyspaces(_ request: HTTPRequest) throws(RingstoreError) -> HTTPResponse {
        let name = request.path.dropFirst("/v1/keyspaces".count).drop { $0 == "/" }
        if !name.isEmpty {
            return Router.json(try node.keyspace(named: String(name)))
        }
        return Router.json(KeyspaceList(keyspaces: node.keyspaces()))
    }

    private func createKeyspace(_ request: HTTPRequest) async throws(RingstoreError) -> HTTPResponse {
        guard request.body.readableBytes <= node.limits.keyspaceDefinitionBytesMax else {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "the definition is \(request.body.readableBytes) bytes; the limit is \(node.limits.keyspaceDefinitionBytesMax)"
            )
        }
        let rawName = String(request.path.dropFirst("/v1/keyspaces/".count))
        guard request.path.hasPrefix("/v1/keyspaces/"), !rawName.isEmpty else {
            throw RingstoreError(.invalidKeyspaceName, "the path must be /v1/keyspaces/{name}")
        }
        let name = try KeyspaceName(validating: rawName, limits: node.limits)
        var definition = KeyspaceRequest()
        if request.body.readableBytes > 0 {
            let data = Data(request.body.readableBytesView)
            let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let unknown = Set(fields?.keys.map { $0 } ?? []).subtracting(["mode", "replication_factor", "conflict"])
            guard unknown.isEmpty else {
                throw RingstoreError(
                    .invalidKeyspaceDefinition, "unknown fields: \(unknown.sorted().joined(separator: ", "))")
            }
            do {
                definition = try JSONDecoder().decode(KeyspaceRequest.self, from: data)
            } catch {
                throw RingstoreError(
                    .invalidKeyspaceDefinition, "the body is not a valid keyspace definition: \(Router.describe(error))"
                )
            }
        }
        let keyspace = definition.keyspace(named: name)
        let created = try await node.createKeyspace(keyspace)
        var response = Router.json(keyspace)
        response.status = created ? .created : .ok
        return response
    }

    private struct KeyspaceList: Encodable {
        var keyspaces: [Keyspace]
    }

    // MARK: Responses

    static func json(_ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: data))
    }

    static func text(_ text: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: text))
    }

    static func methodNotAllowed(_ method: HTTPMethod, allowed: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Allow", value: allowed)
        return Problem(
            status: .methodNotAllowed, code: "method-not-allowed",
            detail: "\(method) is not supported here; use \(allowed)"
        )
        .response(extraHeaders: headers)
    }

    /// A short readable reason for a JSON decoding failure.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.typeMismatch(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.valueNotFound(_, let context): context.debugDescription
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        default: "\(error)"
        }
    }
}

/// Whether the node should receive traffic (`/readyz`): false while starting and draining.
final class Readiness: Sendable {
    private let state = Mutex(false)
    var isReady: Bool { state.withLock { $0 } }
    func set(_ ready: Bool) { state.withLock { $0 = ready } }
}
