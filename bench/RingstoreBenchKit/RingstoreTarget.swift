import NIOCore
import NIOHTTP1

/// Ringstore's HTTP API: `GET`/`PUT /v1/kv/{keyspace}/{key}` with the consistency
/// parameters of each request in the query (`r=`, `w=`, `sloppy=`, `timeout=`, later
/// leader mode's `ack=`, `read=`). A read-modify-write sends back the read's causal
/// context, as a `vv` client must.
public struct RingstoreTarget: Target {
    public let name = "ringstore"
    public let framing = Framing.http
    public let keyspace: String
    /// Query parameters of every read, `r=quorum` style, without `?`.
    public let readParameters: String
    /// Query parameters of every write.
    public let writeParameters: String

    public init(keyspace: String, readParameters: String, writeParameters: String) {
        self.keyspace = keyspace
        self.readParameters = readParameters
        self.writeParameters = writeParameters
    }

    static let contextHeader = "X-Ringstore-Context"

    public func request(for step: Step, host: String) -> WireRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        switch step {
        case .read(let key):
            return .http(method: .GET, uri: uri(key, readParameters), headers: headers, body: nil)
        case .write(let key, let value, let context):
            headers.add(name: "Content-Length", value: String(value.readableBytes))
            headers.add(name: "Content-Type", value: "application/octet-stream")
            if let context { headers.add(name: Self.contextHeader, value: context) }
            return .http(method: .PUT, uri: uri(key, writeParameters), headers: headers, body: value)
        }
    }

    private func uri(_ key: String, _ parameters: String) -> String {
        parameters.isEmpty ? "/v1/kv/\(keyspace)/\(key)" : "/v1/kv/\(keyspace)/\(key)?\(parameters)"
    }

    public func outcome(of replies: [WireReply], for step: Step) -> StepOutcome {
        guard case .http(let status, let headers, _) = replies.first else { return .failed(kind: "protocol") }
        switch status {
        // 300: concurrent values (siblings); the read still answered.
        case 200, 204, 300: return .ok(context: headers.first(name: Self.contextHeader))
        case 404: return .notFound
        default: return .failed(kind: "http-\(status)")
        }
    }
}
