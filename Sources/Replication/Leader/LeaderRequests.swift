import RingstoreCore

/// A write's condition in leader mode, decided atomically by the partition's leader.
public enum LeaderWriteCondition: Sendable, Equatable {
    /// If-Match: the key's current value is the one written at this position.
    case matches(LogPosition)
    /// If-None-Match: *: the key has no value.
    case absent
}

/// Which copy a leader-mode read sees.
public enum LeaderReadLevel: String, Sendable, CaseIterable {
    /// The leader, after etcd confirmed its leadership, at the high watermark.
    case linearizable
    /// The leader's latest, committed or not, without asking etcd.
    case leader
    /// This replica's committed data.
    case follower

    /// Parses a request's `read` parameter.
    public init(parsing text: String) throws(RingstoreError) {
        guard let level = LeaderReadLevel(rawValue: text) else {
            throw RingstoreError(.invalidParameter, "read is 'linearizable', 'leader' or 'follower', not '\(text)'")
        }
        self = level
    }
}

/// A client's leader-mode put (value non-nil) or delete, as the node that received it
/// saw it; sent on to the partition's leader when that is another node.
public struct LeaderWriteRequest: Sendable, Equatable {
    public var keyspace: String
    public var key: [UInt8]
    public var value: [UInt8]?
    /// nil: the keyspace's default.
    public var ack: LeaderAck?
    public var condition: LeaderWriteCondition?
    public var timeoutMillis: UInt32

    public init(
        keyspace: String, key: [UInt8], value: [UInt8]?, ack: LeaderAck?, condition: LeaderWriteCondition?,
        timeoutMillis: UInt32
    ) {
        self.keyspace = keyspace
        self.key = key
        self.value = value
        self.ack = ack
        self.condition = condition
        self.timeoutMillis = timeoutMillis
    }
}

/// A client's leader-mode read; `after` is a write's token to wait for.
public struct LeaderReadRequest: Sendable, Equatable {
    public var keyspace: String
    public var key: [UInt8]
    public var level: LeaderReadLevel
    public var after: LogPosition?
    public var timeoutMillis: UInt32

    public init(keyspace: String, key: [UInt8], level: LeaderReadLevel, after: LogPosition?, timeoutMillis: UInt32) {
        self.keyspace = keyspace
        self.key = key
        self.level = level
        self.after = after
        self.timeoutMillis = timeoutMillis
    }
}

/// What a leader-mode read found: the value (nil: none or deleted), the position that
/// wrote it (its version), and the replica that answered.
public struct LeaderValue: Sendable, Equatable {
    public var value: [UInt8]?
    public var position: LogPosition?
    public var replica: NodeID

    public init(value: [UInt8]?, position: LogPosition?, replica: NodeID) {
        self.value = value
        self.position = position
        self.replica = replica
    }
}
