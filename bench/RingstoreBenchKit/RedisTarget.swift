import NIOCore

/// Redis over RESP: `GET`, and `SET` followed by `WAIT replicas timeout` when
/// `waitReplicas` is set (Redis's synchronous-replication analogue: the write is
/// acknowledged once that many replicas have it). SET and WAIT go out together, as a
/// pipelining client sends them; the write counts as done when WAIT answers, and as a
/// `wait-short` error when fewer replicas than asked acknowledged it in time.
public struct RedisTarget: Target {
    public let name = "redis"
    public let framing = Framing.resp
    public let waitReplicas: Int
    public let waitTimeoutMillis: Int

    public init(waitReplicas: Int, waitTimeoutMillis: Int) {
        self.waitReplicas = waitReplicas
        self.waitTimeoutMillis = waitTimeoutMillis
    }

    public func request(for step: Step, host: String) -> WireRequest {
        var buffer = ByteBuffer()
        switch step {
        case .read(let key):
            RESPCommand.write([.text("GET"), .text(key)], into: &buffer)
            return .resp(buffer, replies: 1)
        case .write(let key, let value, _):
            RESPCommand.write([.text("SET"), .text(key), .bytes(value)], into: &buffer)
            guard waitReplicas > 0 else { return .resp(buffer, replies: 1) }
            RESPCommand.write(
                [.text("WAIT"), .text(String(waitReplicas)), .text(String(waitTimeoutMillis))], into: &buffer)
            return .resp(buffer, replies: 2)
        }
    }

    public func outcome(of replies: [WireReply], for step: Step) -> StepOutcome {
        var values: [RESPValue] = []
        for reply in replies {
            guard case .resp(let value) = reply else { return .failed(kind: "protocol") }
            if case .error = value { return .failed(kind: "redis-error") }
            values.append(value)
        }
        switch step {
        case .read:
            guard case .bulk(let bytes) = values.first else { return .failed(kind: "protocol") }
            return bytes == nil ? .notFound : .ok(context: nil)
        case .write:
            guard case .simple("OK") = values.first else { return .failed(kind: "protocol") }
            if waitReplicas > 0 {
                guard values.count == 2, case .integer(let acknowledged) = values[1] else {
                    return .failed(kind: "protocol")
                }
                if acknowledged < waitReplicas { return .failed(kind: "wait-short") }
            }
            return .ok(context: nil)
        }
    }
}
