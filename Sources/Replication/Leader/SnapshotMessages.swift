import RingstoreCore

/// A follower's request for part of a partition snapshot from the leader: the leader's
/// state as of a log position, paged by key. The follower asks for the next part only
/// once it has stored the last one (flow control by pull, as Raft's InstallSnapshot
/// chunks); the same stream is what a partition backup reads.
public struct SnapshotRequest: Sendable, Equatable {
    public var follower: NodeID
    /// The epoch the follower knows.
    public var epoch: Epoch
    /// The snapshot being read (its base position), nil to begin a new one.
    public var base: LogPosition?
    /// How many keys of it were received so far.
    public var offset: UInt64

    public init(follower: NodeID, epoch: Epoch, base: LogPosition?, offset: UInt64) {
        self.follower = follower
        self.epoch = epoch
        self.base = base
        self.offset = offset
    }
}

/// The leader's answer to a snapshot request.
public enum SnapshotReply: Sendable, Equatable {
    /// Part of the snapshot at `base` (the leader's applied position when it began):
    /// `items`, and the offset of the next part (nil: this was the last). `history` holds
    /// the epochs through `base`. Items may be newer than `base` (the state keeps being
    /// applied while it is read): the entries after `base`, which the follower fetches
    /// next, bring every key to the same value again.
    case chunk(epoch: Epoch, base: LogPosition, history: EpochHistory, items: [PartitionStateItem], next: UInt64?)
    /// The snapshot asked for is no longer held (it expired, or the leader restarted):
    /// begin a new one.
    case gone(epoch: Epoch)
    /// The node asked does not lead in the follower's epoch.
    case fenced(epoch: Epoch)
}
