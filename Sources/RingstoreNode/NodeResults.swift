import RingstoreCore

/// What a write achieved on this node.
public struct WriteResult: Sendable, Equatable {
    public var version: StoredVersion
    /// The context a client sends back with its next write of this key.
    public var context: CausalContext { CausalContext(versions: [version]) }
    /// Replicas that durably accepted the write, and how many were required.
    public var acknowledged: Int
    public var required: Int
}

/// A value read from this node.
public struct ReadResult: Sendable, Equatable {
    public var value: [UInt8]
    public var contentType: String?
    public var version: StoredVersion
    public var context: CausalContext { CausalContext(versions: [version]) }
}

/// A consistency level a client asked for (`one`, `two`, `quorum`, `all`, or a count).
public enum ConsistencyLevel: Sendable, Equatable {
    case one, two, quorum, all
    case count(Int)

    public init(parsing text: String) throws(RingstoreError) {
        switch text {
        case "one": self = .one
        case "two": self = .two
        case "quorum": self = .quorum
        case "all": self = .all
        default:
            guard let n = Int(text), n >= 1, n <= 64 else {
                throw RingstoreError(
                    .invalidParameter,
                    "consistency must be one, two, quorum, all or a number from 1 to 64, not '\(text)'"
                )
            }
            self = .count(n)
        }
    }

    /// How many of `replicas` replicas this level requires.
    public func required(replicas: Int) -> Int {
        switch self {
        case .one: 1
        case .two: 2
        case .quorum: replicas / 2 + 1
        case .all: replicas
        case .count(let n): n
        }
    }
}
