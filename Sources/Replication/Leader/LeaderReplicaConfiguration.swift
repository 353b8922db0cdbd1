import RingstoreCore

/// What a leader-mode partition replica is and how patient it is. The server and the
/// simulator give the same state machine different numbers (the simulator's leases are
/// shorter); the instants the machine works with are milliseconds of the node's
/// monotonic clock.
public struct LeaderReplicaConfiguration: Sendable, Equatable {
    public var me: NodeID
    /// The partition's replicas, preferred leader first.
    public var replicas: [NodeID]
    /// Below this many in-sync replicas an `ack=all` write is refused.
    public var minInSync: Int
    /// How long a follower may go without catching up before the leader drops it from the ISR.
    public var lag: Duration
    /// Whether the leader answers `read=linearizable` from its committed state, without
    /// asking etcd, while its lease surely holds (TiKV's and CockroachDB's lease reads).
    public var leaseReads = true
    /// How long a leader holds a fetch that has nothing new before it answers anyway.
    public var fetchHold: Duration = .milliseconds(500)
    /// How long a follower waits for a fetch's answer before it gives up on it.
    public var fetchTimeout: Duration = .seconds(2)
    /// How long a follower waits after a failed fetch before the next.
    public var fetchRetry: Duration = .milliseconds(100)
    /// How long a leader waits for etcd to confirm its leadership for a read.
    public var confirmationTimeout: Duration = .seconds(1)
    /// How long a leader waits for etcd to answer an ISR change before it proposes again.
    public var proposalRetry: Duration = .milliseconds(300)
    /// How long a refused condition waits for the entry that refuses it to commit.
    public var conditionWait: Duration = .seconds(1)
    /// Roughly how many bytes of entries one fetch answer carries.
    public var fetchBytesMax = 1 << 20
    /// Roughly how many bytes of keys and values one snapshot part carries (one more item
    /// may pass it: a part stays within a peer frame).
    public var snapshotPartBytes = 512 << 10
    /// How many bytes of entries the log keeps at most for replicas that lag behind (the
    /// rest is trimmed once applied; a replica that needs it then gets a snapshot).
    public var logRetainBytes = 64 << 20
    /// How long a leader keeps a snapshot nobody asks for a part of.
    public var snapshotIdle: Duration = .seconds(30)

    public init(me: NodeID, replicas: [NodeID], minInSync: Int, lag: Duration) {
        self.me = me
        self.replicas = replicas
        self.minInSync = minInSync
        self.lag = lag
    }
}

extension Duration {
    /// Whole milliseconds (the unit of the replica's monotonic instants), rounded down.
    var wholeMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds)) / 1_000_000_000_000_000
    }
}
