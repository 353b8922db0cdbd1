import RingstoreCore

/// How a leader-mode write ended.
public enum LeaderWriteOutcome: Sendable, Equatable {
    /// Acknowledged at the requested level; the position is the write's token.
    case written(LogPosition)
    /// Refused before it was appended (or, for `notEnoughInSyncAfterAppend`, appended and
    /// then not promised).
    case refused(PartitionLeader.Refusal)
    /// The condition (If-Match / If-None-Match) did not hold; the key's current position.
    case conditionFailed(current: LogPosition?)
    /// This replica does not lead; the leader it knows, if any.
    case notLeader(NodeID?)
    /// Appended, then not acknowledged (leadership was lost, or the deadline passed): it
    /// may survive.
    case unknown(String)
}

/// What a leader-mode read found: the value (nil: none, or deleted) and the position
/// that wrote it (its version; nil when the key has no value).
public struct LeaderRead: Sendable, Equatable {
    public var value: [UInt8]?
    public var position: LogPosition?

    public init(value: [UInt8]?, position: LogPosition?) {
        self.value = value
        self.position = position
    }
}

/// Why a leader-mode read was not answered.
public enum LeaderReadFailure: Error, Sendable, Equatable {
    case notLeader(NodeID?)
    /// The wait (for `after=`, for etcd's confirmation or for the high watermark) ran out.
    case timedOut
    /// The write of the token is not in this replica's log: it was lost.
    case tokenLost(LogPosition)
    /// The partition's log or state could not be read.
    case storage
    /// This replica is installing a snapshot of the partition: it has no state to read yet.
    case installingSnapshot
}

/// Names a request the shell handed to a replica's state machine (a client's write or
/// read, a peer's fetch), so the action that answers it can say which.
public struct ReplicaRequestID: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    public var description: String { "#\(value)" }
}
