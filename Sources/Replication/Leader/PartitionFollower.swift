import RingstoreCore

/// A follower of one partition in leader mode: fetches from the leader of the highest
/// epoch it knows, rejects anything from an older epoch, truncates where its log parts
/// from the leader's (so logs never diverge), and appends in sequence order.
///
/// Pure: events in, actions out. The shell holds the entries' records and the durable log.
public struct PartitionFollower: Sendable {
    /// What the shell must do.
    public enum Action: Sendable, Equatable {
        /// Send this fetch to `leader`.
        case fetch(leader: NodeID, FetchRequest)
        /// Cut the log after `sequence` (durably), then report `truncated`.
        case truncate(after: UInt64)
        /// Append the fetched entries `from...through` of `epoch`'s leader (durably), then
        /// report `appended`.
        case append(from: UInt64, through: UInt64)
        /// The entries needed next are gone from the leader's log: install a snapshot of
        /// the partition from it, then report `installEnded`.
        case installSnapshot(from: NodeID)
    }

    public let me: NodeID
    /// The highest epoch seen, and its leader when known.
    public private(set) var epoch: Epoch
    public private(set) var leader: NodeID?
    public private(set) var history: EpochHistory
    /// The last durable sequence of the local log.
    public private(set) var last: UInt64
    /// The leader's high watermark as its last reply said (capped at the local log end).
    public private(set) var highWatermark: UInt64
    /// A fetch, truncation or append is under way; the next fetch waits for it.
    public private(set) var busy = false

    public init(me: NodeID, epoch: Epoch, history: EpochHistory, last: UInt64, highWatermark: UInt64) {
        self.me = me
        self.epoch = epoch
        self.history = history
        self.last = last
        self.highWatermark = min(highWatermark, last)
    }

    public var position: LogPosition { LogPosition(epoch: history.epoch(of: last), sequence: last) }

    /// etcd says `leader` won `epoch`.
    public mutating func leaderElected(_ leader: NodeID, epoch: Epoch) -> [Action] {
        guard epoch > self.epoch || (epoch == self.epoch && self.leader == nil) else { return [] }
        self.epoch = epoch
        self.leader = leader
        guard leader != me, !busy else { return [] }
        return [fetch()]
    }

    /// The leader answered a fetch. Anything but entries to append or a cut to make is
    /// followed by the next fetch (a leader holds a fetch while it has nothing new, so an
    /// up-to-date answer comes after a while, not at once).
    public mutating func fetched(_ reply: FetchReply) -> [Action] {
        busy = false
        switch reply {
        case .fenced(let newer):
            // The node asked does not lead (any more): wait for etcd to name the leader.
            epoch = max(epoch, newer)
            leader = nil
            return []
        case .upToDate(let replyEpoch, let mark):
            if replyEpoch == epoch { highWatermark = max(highWatermark, min(mark, last)) }
        case .diverging(let replyEpoch, let divergingEpoch, let end):
            if replyEpoch == epoch {
                let (_, ownEnd) = history.end(of: divergingEpoch, last: last)
                busy = true
                return [.truncate(after: min(ownEnd, end))]
            }
        case .snapshot(let replyEpoch, _):
            if replyEpoch == epoch, let leader {
                busy = true
                return [.installSnapshot(from: leader)]
            }
        case .entries(let replyEpoch, let from, let through, let mark):
            if replyEpoch == epoch, from == last + 1, through >= from {
                highWatermark = max(highWatermark, min(mark, last))
                busy = true
                return [.append(from: from, through: through)]
            }
        }
        return nextFetch()
    }

    /// The fetch failed or timed out (no answer): try again.
    public mutating func fetchFailed() -> [Action] {
        busy = false
        return nextFetch()
    }

    /// The log was cut after `sequence`.
    public mutating func truncated(after sequence: UInt64) -> [Action] {
        last = min(last, sequence)
        history.truncate(after: last)
        highWatermark = min(highWatermark, last)
        busy = false
        return nextFetch()
    }

    /// Entries through `sequence` are durable; `epochs` are the epochs they were written
    /// in, with the first sequence of each within the batch.
    public mutating func appended(through sequence: UInt64, epochs: [(epoch: Epoch, start: UInt64)]) -> [Action] {
        for (entryEpoch, start) in epochs { history.begin(entryEpoch, at: start) }
        last = max(last, sequence)
        busy = false
        return nextFetch()
    }

    /// A snapshot install ended: the log now ends at `last` (the snapshot's base, or 0
    /// when an install was given up after it had begun) with `history`, and everything
    /// in it is committed.
    public mutating func installEnded(last: UInt64, history: EpochHistory) -> [Action] {
        self.last = last
        self.history = history
        highWatermark = last
        busy = false
        return nextFetch()
    }

    /// The next fetch, marking the follower busy until its answer.
    public mutating func nextFetch() -> [Action] {
        guard !busy, let leader, leader != me else { return [] }
        return [fetch()]
    }

    private mutating func fetch() -> Action {
        busy = true
        return .fetch(leader: leader!, FetchRequest(follower: me, epoch: epoch, last: position))
    }
}
