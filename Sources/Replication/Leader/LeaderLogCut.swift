import RingstoreCore

/// Entries a replica cut from its log's tail because the leader of a newer epoch parts
/// from it there: writes that were never committed, which only `ack=leader` may have
/// acknowledged (an `ack=all` write among them is a bug). The failover loss report.
public struct LeaderLogCut: Sendable, Equatable {
    /// The epoch of the leader whose log the replica follows now.
    public var epoch: Epoch
    /// The first and last entries cut, and how many.
    public var first: LogPosition
    public var last: LogPosition
    public var count: Int
    /// The client writes cut (epoch starts left out), in log order, at most `writesMax`.
    public var writes: [Write]
    /// When this replica appended the first and the last of them (its monotonic clock);
    /// nil for entries it held from before it last started.
    public var appendedFrom: UInt64?
    public var appendedThrough: UInt64?

    /// A write cut: its position (the token a client may hold) and its key.
    public struct Write: Sendable, Equatable {
        public var position: LogPosition
        public var key: [UInt8]

        public init(position: LogPosition, key: [UInt8]) {
            self.position = position
            self.key = key
        }
    }

    public init(
        epoch: Epoch, first: LogPosition, last: LogPosition, count: Int, writes: [Write], appendedFrom: UInt64?,
        appendedThrough: UInt64?
    ) {
        self.epoch = epoch
        self.first = first
        self.last = last
        self.count = count
        self.writes = writes
        self.appendedFrom = appendedFrom
        self.appendedThrough = appendedThrough
    }

    /// The most writes a report lists (the count says how many were cut).
    public static let writesMax = 100
}
