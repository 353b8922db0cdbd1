import RingstoreCore

/// The leader of one partition in leader mode (DESIGN section 6): assigns sequence
/// numbers in its epoch, tracks each follower's durable position from its fetches, keeps
/// the high watermark (the highest sequence every in-sync replica has), proposes ISR
/// changes (applied only once etcd confirms them, guarded by this epoch), and tells the
/// shell when writes may be acknowledged.
///
/// Pure: events in, actions out; times are milliseconds the shell passes in.
public struct PartitionLeader: Sendable {
    /// When a write is acknowledged.
    public typealias Ack = LeaderAck

    /// Why a write is refused or not acknowledged.
    public enum Refusal: Error, Sendable, Equatable {
        /// The ISR is smaller than `min_in_sync`.
        case notEnoughInSync(inSync: Int, required: Int)
        /// Stored, but the ISR shrank below `min_in_sync` before every member had it: the
        /// write may survive, but is not promised.
        case notEnoughInSyncAfterAppend(inSync: Int, required: Int)
        /// This node is no longer the leader (a higher epoch was seen).
        case notLeader(Epoch)
        /// The leader's etcd lease may have expired (it could not renew it in time): it
        /// cannot know whether it still leads, so it acknowledges nothing until it does.
        case leaseExpired
        /// The partition's state could not be read to decide the write's condition.
        case stateUnreadable
    }

    /// What the shell must do.
    public enum Action: Sendable, Equatable {
        case acknowledge(request: UInt64, position: LogPosition)
        case refuse(request: UInt64, Refusal)
        /// Write the ISR to etcd in a transaction guarded by `epoch` (this leader's).
        case proposeInSync(Set<NodeID>, epoch: Epoch)
        /// A higher epoch exists: stop leading (refuse what waits, fetch from the new leader).
        case stepDown(Epoch)
    }

    public let me: NodeID
    public let epoch: Epoch
    public let replicas: [NodeID]
    public let minInSync: Int
    /// Milliseconds a follower may go without catching up to the log end before it is
    /// dropped from the ISR.
    public let lagMillis: UInt64

    public private(set) var history: EpochHistory
    /// The last sequence assigned.
    public private(set) var last: UInt64
    /// The last sequence durable in the leader's own log.
    public private(set) var durable: UInt64
    public private(set) var highWatermark: UInt64
    /// The ISR as etcd last confirmed it.
    public private(set) var inSync: Set<NodeID>
    /// An ISR change sent to etcd and not yet confirmed.
    public private(set) var proposed: Set<NodeID>?
    /// The log end when this leader took over: linearizable reads wait until the high
    /// watermark reaches it (every write acknowledged by an earlier leader is then committed
    /// in this epoch).
    public let electedAt: UInt64
    public private(set) var deposedBy: Epoch?
    /// Until when (this node's clock) its lease surely holds in etcd: the send time of
    /// the last renewal etcd answered plus the lease's time to live, less a margin.
    public private(set) var leaseValidUntil: UInt64

    /// Each follower's durable position as its last fetch in this epoch reported it.
    public private(set) var followerPositions: [NodeID: UInt64] = [:]
    /// When each follower last fetched with everything the leader had at its previous
    /// fetch (Kafka's last caught-up time: under a steady stream of writes a follower is
    /// never exactly at the log end, yet it keeps up).
    private var caughtUpAt: [NodeID: UInt64] = [:]
    /// The log end at each follower's previous fetch.
    private var endAtLastFetch: [NodeID: UInt64] = [:]
    private var pending: [(request: UInt64, sequence: UInt64, ack: Ack)] = []

    /// Becomes leader of `epoch` over a log ending at `last` with `history`, with the ISR
    /// as etcd holds it and the high watermark this node knew as a follower.
    /// `formerLeader`, the leader of the epoch before when known, lost its lease (that is
    /// how this one could win): like Kafka's controller on a broker's session expiry, it
    /// counts as lagging from the start and leaves the ISR at the first tick unless it has
    /// fetched everything by then, instead of holding `ack=all` writes for `lagMillis`.
    public init(
        me: NodeID, epoch: Epoch, replicas: [NodeID], inSync: Set<NodeID>, minInSync: Int, lagMillis: UInt64,
        history: EpochHistory, last: UInt64, highWatermark: UInt64, leaseValidUntil: UInt64, now: UInt64,
        formerLeader: NodeID? = nil
    ) {
        precondition(inSync.contains(me), "\(me) leads epoch \(epoch) without being in sync: \(inSync)")
        precondition(epoch > history.lastEpoch, "epoch \(epoch) is not above the log's \(history.lastEpoch)")
        self.me = me
        self.epoch = epoch
        self.replicas = replicas
        self.minInSync = minInSync
        self.lagMillis = lagMillis
        var history = history
        history.begin(epoch, at: last + 1)
        self.history = history
        self.last = last
        durable = last
        self.highWatermark = min(highWatermark, last)
        self.inSync = inSync
        electedAt = last
        self.leaseValidUntil = leaseValidUntil
        for follower in replicas where follower != me { caughtUpAt[follower] = now }
        if let formerLeader, formerLeader != me, replicas.contains(formerLeader) {
            caughtUpAt[formerLeader] = now >= lagMillis ? now - lagMillis : 0
        }
    }

    public var isLeading: Bool { deposedBy == nil }

    /// Whether a linearizable read may be served now (the high watermark covers
    /// everything this leader inherited).
    public func servesLinearizableReads(now: UInt64) -> Bool {
        isLeading && now < leaseValidUntil && highWatermark >= electedAt
    }

    /// A client write arrived: its position to append at, or why it is refused.
    public mutating func write(request: UInt64, ack: Ack, now: UInt64) -> Result<LogPosition, Refusal> {
        if let deposedBy { return .failure(.notLeader(deposedBy)) }
        if now >= leaseValidUntil { return .failure(.leaseExpired) }
        if ack == .all, inSync.count < minInSync {
            return .failure(.notEnoughInSync(inSync: inSync.count, required: minInSync))
        }
        last += 1
        pending.append((request, last, ack))
        return .success(LogPosition(epoch: epoch, sequence: last))
    }

    /// The leader's own log is durable through `sequence`.
    public mutating func appended(through sequence: UInt64, now: UInt64) -> [Action] {
        precondition(sequence <= last, "durable \(sequence) beyond the last assigned \(last)")
        durable = max(durable, sequence)
        return advance(now: now)
    }

    /// etcd answered a lease renewal sent at a time that makes the lease hold until
    /// `validUntil`.
    public mutating func leaseRenewed(validUntil: UInt64, now: UInt64) -> [Action] {
        leaseValidUntil = max(leaseValidUntil, validUntil)
        return advance(now: now)
    }

    /// A follower fetched. Answers it, and takes its position as its acknowledgement.
    public mutating func fetch(_ request: FetchRequest, now: UInt64) -> (FetchReply, [Action]) {
        if request.epoch > epoch {
            return (.fenced(epoch: request.epoch), learned(request.epoch))
        }
        if let deposedBy { return (.fenced(epoch: deposedBy), []) }
        guard replicas.contains(request.follower), request.follower != me else {
            return (.upToDate(epoch: epoch, highWatermark: highWatermark), [])
        }
        let (sharedEpoch, end) = history.end(of: request.last.epoch, last: last)
        if sharedEpoch != request.last.epoch || request.last.sequence > end {
            return (.diverging(epoch: epoch, divergingEpoch: sharedEpoch, end: end), [])
        }
        let position = request.last.sequence
        followerPositions[request.follower] = max(followerPositions[request.follower] ?? 0, position)
        let caughtUp = position >= last || position >= (endAtLastFetch[request.follower] ?? .max)
        if caughtUp { caughtUpAt[request.follower] = now }
        endAtLastFetch[request.follower] = last
        var actions = advance(now: now)
        // A follower out of the ISR that keeps up and has the high watermark comes back.
        if !inSync.contains(request.follower), proposed == nil, position >= highWatermark, caughtUp {
            let grown = inSync.union([request.follower])
            proposed = grown
            actions.append(.proposeInSync(grown, epoch: epoch))
        }
        // Followers fetch what was handed to the leader's log, durable there or not yet, so
        // the leader's and the followers' fsyncs overlap (Raft's leader writes its disk in
        // parallel with replication too): the high watermark still counts only what the
        // leader's own log holds durably, so nothing is committed on the followers alone.
        guard position < last else {
            return (.upToDate(epoch: epoch, highWatermark: highWatermark), actions)
        }
        return (.entries(epoch: epoch, from: position + 1, through: last, highWatermark: highWatermark), actions)
    }

    /// Time passed: drops followers that have not caught up for `lagMillis` from the ISR
    /// (one proposal at a time).
    public mutating func tick(now: UInt64) -> [Action] {
        guard isLeading, proposed == nil else { return [] }
        let lagging = inSync.filter { follower in
            follower != me && now >= (caughtUpAt[follower] ?? now) + lagMillis
                && (followerPositions[follower] ?? 0) < last
        }
        guard !lagging.isEmpty else { return [] }
        let shrunk = inSync.subtracting(lagging)
        proposed = shrunk
        return [.proposeInSync(shrunk, epoch: epoch)]
    }

    /// The earliest instant at which `tick` could drop a follower from the ISR (nil: none
    /// could be dropped until something else happens first).
    public func nextLagCheck() -> UInt64? {
        guard isLeading, proposed == nil else { return nil }
        // The same members `tick` could drop (it never drops one it has no catch-up time for).
        return inSync.filter { $0 != me && (followerPositions[$0] ?? 0) < last }
            .compactMap { caughtUpAt[$0].map { $0 + lagMillis } }.min()
    }

    /// Whether the first entry of this epoch (the one after `electedAt`) is committed:
    /// then everything acknowledged in earlier epochs is committed in this one.
    public var committedInOwnEpoch: Bool { highWatermark > electedAt }

    /// etcd confirmed the proposed ISR.
    public mutating func inSyncConfirmed(_ members: Set<NodeID>, now: UInt64) -> [Action] {
        guard isLeading else { return [] }
        inSync = members.union([me])
        proposed = nil
        return advance(now: now)
    }

    /// etcd refused the proposal: another leader exists (its epoch when known).
    public mutating func inSyncRefused(newerEpoch: Epoch?) -> [Action] {
        proposed = nil
        return learned(newerEpoch ?? Epoch(epoch.value + 1))
    }

    /// A higher epoch was seen anywhere (a reply, etcd's watch).
    public mutating func learned(_ newer: Epoch) -> [Action] {
        guard newer > epoch, deposedBy == nil else { return [] }
        deposedBy = newer
        let refused = pending.map { Action.refuse(request: $0.request, .notLeader(newer)) }
        pending = []
        return refused + [.stepDown(newer)]
    }

    /// etcd no longer holds this leader's key (its lease expired): it leads no more.
    public mutating func leaseLost() -> [Action] {
        guard deposedBy == nil else { return [] }
        deposedBy = epoch
        let refused = pending.map { Action.refuse(request: $0.request, .notLeader(epoch)) }
        pending = []
        return refused + [.stepDown(epoch)]
    }

    /// Recomputes the high watermark and acknowledges or refuses what it settles; while
    /// the lease is in doubt nothing is acknowledged.
    private mutating func advance(now: UInt64) -> [Action] {
        guard isLeading else { return [] }
        var mark = durable
        for member in inSync where member != me { mark = min(mark, followerPositions[member] ?? 0) }
        highWatermark = max(highWatermark, mark)
        var actions: [Action] = []
        guard now < leaseValidUntil else { return actions }
        pending.removeAll { waiting in
            switch waiting.ack {
            case .leader:
                guard waiting.sequence <= durable else { return false }
            case .all:
                guard waiting.sequence <= highWatermark else { return false }
                if inSync.count < minInSync {
                    actions.append(
                        .refuse(
                            request: waiting.request,
                            .notEnoughInSyncAfterAppend(inSync: inSync.count, required: minInSync)))
                    return true
                }
            }
            actions.append(
                .acknowledge(request: waiting.request, position: LogPosition(epoch: epoch, sequence: waiting.sequence)))
            return true
        }
        return actions
    }
}
