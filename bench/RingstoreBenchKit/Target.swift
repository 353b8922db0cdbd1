import NIOCore
import NIOHTTP1

/// One step of an operation as a target sees it: a read, or a write that may carry what
/// the read before it returned (a causal context for read-modify-write).
public enum Step: Sendable {
    case read(key: String)
    case write(key: String, value: ByteBuffer, context: String?)
}

/// A request in a target's own protocol.
public enum WireRequest: Sendable {
    /// An HTTP/1.1 request on a keep-alive connection.
    case http(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: ByteBuffer?)
    /// RESP commands written back to back, answered by `replies` replies.
    case resp(ByteBuffer, replies: Int)

    /// How many replies answer the request.
    var replies: Int {
        switch self {
        case .http: 1
        case .resp(_, let replies): replies
        }
    }
}

/// A reply in a target's own protocol.
public enum WireReply: Sendable {
    case http(status: Int, headers: HTTPHeaders, body: ByteBuffer)
    case resp(RESPValue)
}

/// What a step came to.
public enum StepOutcome: Sendable, Equatable {
    /// Done; `context` is what a following write should carry.
    case ok(context: String?)
    /// A read of a record that is not there (not an error: workload D reads ahead of inserts).
    case notFound
    /// Failed, with a short kind for the error table (`http-503`, `redis-error`).
    case failed(kind: String)
}

/// How a system under test is spoken to: a driver. Each talks the target's ordinary
/// client protocol, and none gets a shortcut the others lack.
public protocol Target: Sendable {
    /// A short name for reports (`ringstore`, `etcd`, `redis`).
    var name: String { get }
    /// The framing its connections use.
    var framing: Framing { get }
    /// The request for a step.
    func request(for step: Step, host: String) -> WireRequest
    /// What the replies to a step's request mean.
    func outcome(of replies: [WireReply], for step: Step) -> StepOutcome
}

/// The byte framing of a target's connections.
public enum Framing: Sendable {
    case http
    case resp
}
