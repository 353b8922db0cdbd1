import RingstoreCore

/// A follower's fetch: the epoch it knows and the end of its durable log. The position
/// doubles as its acknowledgement of everything up to it (Kafka style).
public struct FetchRequest: Sendable, Equatable, Codable {
    public var follower: NodeID
    public var epoch: Epoch
    public var last: LogPosition

    public init(follower: NodeID, epoch: Epoch, last: LogPosition) {
        self.follower = follower
        self.epoch = epoch
        self.last = last
    }
}

/// The leader's answer to a fetch.
public enum FetchReply: Sendable, Equatable, Codable {
    /// Entries `from...through` follow (the shell attaches their records), and the
    /// leader's high watermark.
    case entries(epoch: Epoch, from: UInt64, through: UInt64, highWatermark: UInt64)
    /// The follower's log goes past the leader's in `divergingEpoch`, whose last entry in
    /// the leader's log is `end`: truncate there, then fetch again.
    case diverging(epoch: Epoch, divergingEpoch: Epoch, end: UInt64)
    /// Nothing new yet (the shell may hold the fetch until something is appended).
    case upToDate(epoch: Epoch, highWatermark: UInt64)
    /// The fetcher knows a newer epoch than this leader's: the leader was deposed.
    case fenced(epoch: Epoch)
    /// The entries the follower needs next were trimmed from the leader's log, which now
    /// begins at `logStart`: it installs a snapshot of the partition first.
    case snapshot(epoch: Epoch, logStart: UInt64)
}
