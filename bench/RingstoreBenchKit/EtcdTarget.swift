import Foundation
import NIOCore
import NIOHTTP1

/// etcd's v3 JSON gateway (`POST /v3/kv/put`, `POST /v3/kv/range`, keys and values in
/// base64), the way a client without gRPC talks to etcd. Ranges are linearizable unless
/// `serializable`.
public struct EtcdTarget: Target {
    public let name = "etcd"
    public let framing = Framing.http
    public let serializable: Bool

    public init(serializable: Bool) {
        self.serializable = serializable
    }

    public func request(for step: Step, host: String) -> WireRequest {
        var body = ByteBuffer()
        switch step {
        case .read(let key):
            body.writeString(#"{"key":""#)
            body.writeString(Data(key.utf8).base64EncodedString())
            body.writeString(serializable ? #"","serializable":true}"# : #""}"#)
            return .http(method: .POST, uri: "/v3/kv/range", headers: headers(host, body), body: body)
        case .write(let key, let value, _):
            body.writeString(#"{"key":""#)
            body.writeString(Data(key.utf8).base64EncodedString())
            body.writeString(#"","value":""#)
            body.writeString(Data(value.readableBytesView).base64EncodedString())
            body.writeString(#""}"#)
            return .http(method: .POST, uri: "/v3/kv/put", headers: headers(host, body), body: body)
        }
    }

    private func headers(_ host: String, _ body: ByteBuffer) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        return headers
    }

    public func outcome(of replies: [WireReply], for step: Step) -> StepOutcome {
        guard case .http(let status, _, let body) = replies.first else { return .failed(kind: "protocol") }
        guard status == 200 else { return .failed(kind: "http-\(status)") }
        if case .read = step {
            // A range that found nothing has no "kvs" field.
            let found = body.readableBytesView.firstRange(of: Array(#""kvs""#.utf8)) != nil
            return found ? .ok(context: nil) : .notFound
        }
        return .ok(context: nil)
    }
}
