import DequeModule
import RingstoreCore

/// One leader-mode partition replica (DESIGN section 6), whole: it leads through
/// `PartitionLeader` or follows through `PartitionFollower`, and around them keeps what
/// both shells used to keep on their own: the committed index (each key's latest
/// committed position) and the uncommitted tail, client writes and their conditions,
/// reads at every level (lease reads, and reads confirmed through etcd), fetches held
/// until there is something new, the follower's fetches with their timeouts and retries,
/// and its appends and truncations.
///
/// Pure: events in, actions out (`LeaderReplicaAction`); instants are milliseconds of the
/// node's monotonic clock, passed in with every event; timers are `scheduleTick` actions.
/// The server's `LeaderReplica` actor and the simulator's node drive this same type. It
/// reads entries already durable through a `LeaderLogReader`, as etcd raft's node reads
/// its `Storage`, and its applied state through a `PartitionStateReader`.
public struct LeaderReplicaStateMachine: Sendable {
    public typealias Action = LeaderReplicaAction

    public let configuration: LeaderReplicaConfiguration
    let log: any LeaderLogReader
    let state: any PartitionStateReader

    // MARK: Role (at most one of these is set)

    var leader: PartitionLeader?
    var follower: PartitionFollower?
    /// A former leader whose own appends are still in flight: it follows once they are
    /// durable (the new leader then cuts what it lacks).
    var settling: Settling?
    /// The log could not be written: the replica serves nothing more.
    var failure: String?

    struct Settling {
        var epoch: Epoch
        var leader: NodeID?
        var highWatermark: UInt64
    }

    // MARK: The log

    /// The last sequence issued to the log, and the last durable (every one before it too).
    var logLast: UInt64
    var logDurable: UInt64
    /// The epochs of the log as issued.
    var history: EpochHistory

    // MARK: Committed and applied state

    /// The last sequence known committed here (the high watermark, capped at the durable log).
    var committedThrough: UInt64 = 0
    /// The last sequence applied to the partition's state (durably), and the one an apply
    /// under way reaches.
    var applied: UInt64
    var applying: UInt64?
    /// The entries after `applied`, through `logLast`, in order (committed ones waiting to
    /// be applied included), and when this replica handed each to its log (nil: before it
    /// last started).
    var tail: Deque<LeaderEntry>
    var tailAppendedAt: Deque<UInt64?>
    /// How many tail entries write each key: a key not here is read from the state alone.
    var tailKeys: [[UInt8]: Int] = [:]

    /// The log holds the entries after this sequence; those up to it were trimmed.
    var trimmedThrough: UInt64
    /// The bytes of each entry the log holds (`trimmedThrough + 1 ... logLast`) and their sum.
    var logSizes: Deque<UInt32>
    var logBytes = 0

    struct CommittedKey {
        var position: LogPosition
        var deleted: Bool
    }

    // MARK: Snapshots

    /// Snapshots this leader is streaming, by follower (they pin the log after their base).
    var snapshotSessions: [NodeID: SnapshotSession] = [:]
    /// The snapshot this follower is installing.
    var install: SnapshotInstall?

    struct SnapshotSession {
        var base: LogPosition
        var history: EpochHistory
        var keys: [[UInt8]]
        var lastAskedAt: UInt64
    }

    struct SnapshotInstall {
        var leader: NodeID
        var epoch: Epoch
        /// Known once the first part came; the state was wiped then (`begun`).
        var base: LogPosition?
        var history = EpochHistory()
        var begun = false
        var next: UInt64 = 0
        /// The part asked for (its fetch number and when), or a part being stored.
        var asked: (number: UInt64, sentAt: UInt64)?
        /// When to ask again after a failed or refused request.
        var retryAt: UInt64?
        /// A part is being stored; whether it is the snapshot's last.
        var storing = false
        var finalPart = false
        /// The mark that completes the install is being written.
        var finishing = false
    }

    // MARK: Requests

    /// Writes appended and waiting for their acknowledgement, with their deadlines.
    var writes: [ReplicaRequestID: UInt64] = [:]
    /// Writes whose condition failed, waiting for the entry that fails it to commit.
    var conditionWaits: [ConditionWait] = []
    /// Reads waiting for their `after` token's write to be committed here.
    var readsAfter: [PendingRead] = []
    /// Linearizable reads waiting for an etcd confirmation to be asked.
    var awaitingConfirmation: [PendingRead] = []
    /// The confirmation under way and the reads that arrived before it was asked.
    var confirmation: Confirmation?
    /// Reads whose confirmation came, waiting for the lease or the high watermark.
    var confirmedReads: [PendingRead] = []
    /// Peers' fetches with nothing new yet.
    var heldFetches: [HeldFetch] = []
    /// The epoch's first entry is still to be appended (its lease was not valid yet).
    var epochStartPending = false
    var proposalSentAt: UInt64?

    struct ConditionWait {
        var id: ReplicaRequestID
        /// The key's latest position (committed or not), and whether it deleted the key.
        var current: LogPosition?
        var deleted: Bool
        var deadline: UInt64
    }

    struct PendingRead {
        var id: ReplicaRequestID
        var key: [UInt8]
        var level: LeaderReadLevel
        var after: LogPosition?
        var deadline: UInt64
    }

    struct Confirmation {
        var epoch: Epoch
        var sentAt: UInt64
        var reads: [PendingRead]
    }

    struct HeldFetch {
        var id: ReplicaRequestID
        var request: FetchRequest
        var highWatermark: UInt64
        var deadline: UInt64
    }

    // MARK: The follower's fetching

    /// The fetch under way: its number, when it was sent, to whom.
    var fetch: (number: UInt64, sentAt: UInt64, to: NodeID)?
    var fetchNumber: UInt64 = 0
    /// When to fetch again after a failure (the follower machine stays busy until then).
    var fetchRetryAt: UInt64?
    /// Fetched entries being appended: the last of them and the epochs they begin.
    var followerAppend: (through: UInt64, epochs: [(epoch: Epoch, start: UInt64)])?
    /// A truncation under way (after this sequence).
    var truncating: UInt64?
    /// An election won while the log was still settling, taken up once it has.
    var deferredElection: (epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64)?
    /// The tick the shell was last asked for.
    var tickAt: UInt64?

    /// The request id of the epoch's first entry (the shell's ids never reach it).
    static let epochStartRequest = UInt64.max

    /// Opens the replica over its applied state (`mark` says how far) and the log after
    /// it, durable through `durable`, as a follower of the epoch the log reached. Only the
    /// unapplied tail is read. Nothing more is known committed until a leader says so.
    public init(
        configuration: LeaderReplicaConfiguration, log: any LeaderLogReader, state: any PartitionStateReader,
        mark: PartitionStateMark, durable: UInt64
    ) throws(RingstoreError) {
        guard !mark.installing else {
            throw RingstoreError(.storage, "the partition's state is half-installed: it must be wiped first")
        }
        self.configuration = configuration
        self.log = log
        self.state = state
        let applied = mark.applied.sequence
        guard durable >= applied else {
            throw RingstoreError(.storage, "the partition's log ends at \(durable), before its applied \(applied)")
        }
        let entries = durable == applied ? [] : try log.entries(from: applied + 1, through: durable, bytesMax: .max)
        guard entries.map(\.position.sequence).elementsEqual((applied + 1)..<(durable + 1)) else {
            throw RingstoreError(.storage, "the partition's log does not hold entries \(applied + 1)...\(durable)")
        }
        var history = mark.history
        history.truncate(after: applied)
        for entry in entries { history.begin(entry.position.epoch, at: entry.position.sequence) }
        self.history = history
        self.applied = applied
        committedThrough = applied
        trimmedThrough = applied
        logLast = durable
        logDurable = durable
        tail = Deque(entries)
        tailAppendedAt = Deque(repeating: nil, count: entries.count)
        logSizes = Deque(entries.map(Self.logSize))
        logBytes = logSizes.reduce(0) { $0 + Int($1) }
        for entry in entries { tailKeys[entry.key, default: 0] += 1 }
        follower = PartitionFollower(
            me: configuration.me, epoch: history.lastEpoch, history: history, last: durable, highWatermark: applied)
    }

    /// What an entry costs the log's retention budget.
    static func logSize(_ entry: LeaderEntry) -> UInt32 {
        UInt32(clamping: 32 + entry.key.count + (entry.value?.count ?? 0))
    }

    var me: NodeID { configuration.me }

    // MARK: What the shell may ask

    /// Whether this replica leads now.
    public var isLeading: Bool { leader?.isLeading == true }

    /// The highest epoch this replica knows.
    public var currentEpoch: Epoch {
        leader?.epoch ?? follower?.epoch ?? settling?.epoch ?? history.lastEpoch
    }

    /// The leader this replica knows, if any.
    public var knownLeader: NodeID? {
        if isLeading { return me }
        return follower?.leader ?? settling?.leader
    }

    /// The last committed sequence known here.
    public var committedThroughSequence: UInt64 { committedThrough }

    /// The last sequence applied to the partition's state, and the first the log holds.
    public var appliedThroughSequence: UInt64 { applied }
    public var logStartSequence: UInt64 { trimmedThrough + 1 }
    /// Whether a snapshot is being installed (the state then answers no reads).
    public var isInstallingSnapshot: Bool { install != nil }

    /// What `/v1/cluster` shows of the partition on this node.
    public var status: LeaderReplicaStatus {
        var status = roleStatus
        status.logStart = trimmedThrough + 1
        status.applied = applied
        status.logBytes = logBytes
        status.installing = install != nil
        return status
    }

    private var roleStatus: LeaderReplicaStatus {
        if let machine = leader {
            var lag: [NodeID: UInt64] = [:]
            for peer in configuration.replicas where peer != me {
                guard let position = machine.followerPositions[peer] else { continue }
                lag[peer] = machine.durable - min(machine.durable, position)
            }
            return LeaderReplicaStatus(
                leader: machine.isLeading ? me : nil, epoch: machine.epoch, inSync: machine.inSync.sorted(),
                highWatermark: machine.highWatermark, last: machine.durable, lag: lag)
        }
        return LeaderReplicaStatus(
            leader: knownLeader, epoch: currentEpoch, inSync: [],
            highWatermark: follower?.highWatermark ?? settling?.highWatermark ?? 0, last: logDurable, lag: [:])
    }

    // MARK: Time

    /// A tick the machine asked for (or any other): deadlines, ISR lag, retries.
    public mutating func tick(now: UInt64) -> [Action] {
        if let at = tickAt, at <= now { tickAt = nil }
        var actions: [Action] = []
        if leader != nil { actions += performLeader(leader!.tick(now: now), now: now) }
        if let machine = leader, let proposed = machine.proposed, let sent = proposalSentAt,
            now >= sent + configuration.proposalRetry.wholeMilliseconds
        {
            proposalSentAt = now
            actions.append(.proposeInSync(proposed, epoch: machine.epoch))
        }
        if let asked = confirmation, now >= asked.sentAt + configuration.confirmationTimeout.wholeMilliseconds {
            actions += confirmationEnded(confirmed: nil, now: now)
        }
        actions += appendEpochStart(now: now)
        if let outstanding = fetch, now >= outstanding.sentAt + configuration.fetchTimeout.wholeMilliseconds {
            fetch = nil
            fetchRetryAt = now
        }
        actions += snapshotTick(now: now)
        if let at = fetchRetryAt, now >= at, follower != nil, install == nil {
            fetchRetryAt = nil
            actions += performFollower(follower!.fetchFailed(), now: now)
        }
        return actions + afterChange(now: now)
    }

    /// What every event ends with: commits what the high watermark covers, answers what
    /// that (or the clock) settles, and asks for the next tick.
    mutating func afterChange(now: UInt64) -> [Action] {
        advanceCommitted()
        var actions = applyCommitted()
        actions += releaseReadsAfter(now: now)
        actions += settleConditions(now: now)
        actions += serveConfirmedReads(now: now)
        actions += expireReads(now: now)
        actions += expireWrites(now: now)
        actions += answerHeldFetches(now: now)
        actions += scheduleNextTick(now: now)
        return actions
    }

    private mutating func scheduleNextTick(now: UInt64) -> [Action] {
        var next: UInt64?
        func consider(_ instant: UInt64?) {
            guard let instant else { return }
            next = min(next ?? instant, instant)
        }
        for held in heldFetches { consider(held.deadline) }
        for deadline in writes.values { consider(deadline) }
        for wait in conditionWaits { consider(wait.deadline) }
        // Each list on its own: this runs after every event, a concatenation would allocate.
        for read in readsAfter { consider(read.deadline) }
        for read in awaitingConfirmation { consider(read.deadline) }
        for read in confirmedReads { consider(read.deadline) }
        for read in confirmation?.reads ?? [] { consider(read.deadline) }
        if let asked = confirmation { consider(asked.sentAt + configuration.confirmationTimeout.wholeMilliseconds) }
        if let machine = leader {
            consider(machine.nextLagCheck())
            if machine.proposed != nil, let sent = proposalSentAt {
                consider(sent + configuration.proposalRetry.wholeMilliseconds)
            }
        }
        if let outstanding = fetch { consider(outstanding.sentAt + configuration.fetchTimeout.wholeMilliseconds) }
        consider(fetchRetryAt)
        if let asked = install?.asked { consider(asked.sentAt + configuration.fetchTimeout.wholeMilliseconds) }
        consider(install?.retryAt)
        for session in snapshotSessions.values {
            consider(session.lastAskedAt + configuration.snapshotIdle.wholeMilliseconds)
        }
        guard let next, tickAt.map({ $0 > next }) ?? true else { return [] }
        tickAt = next
        return [.scheduleTick(at: max(next, now))]
    }
}

/// What `/v1/cluster` shows of a leader-mode partition replica.
public struct LeaderReplicaStatus: Sendable, Equatable {
    /// The first sequence the log holds and the last applied to the state.
    public var logStart: UInt64 = 1
    public var applied: UInt64 = 0
    /// Bytes of entries the log holds.
    public var logBytes = 0
    /// Whether a snapshot is being installed here.
    public var installing = false
    public var leader: NodeID?
    public var epoch: Epoch
    /// The ISR (on the leader only).
    public var inSync: [NodeID]
    public var highWatermark: UInt64
    public var last: UInt64
    /// Followers' lag behind the leader's log end (on the leader only; a follower that
    /// has not fetched in this epoch is missing).
    public var lag: [NodeID: UInt64]
}
