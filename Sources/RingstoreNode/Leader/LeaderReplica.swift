import Replication
import RingstoreCore
import Synchronization

/// What a leader-mode replica asks of etcd (the server's `PartitionElection`).
public protocol LeaderCoordination: Sendable {
    /// Writes the ISR if `epoch` still holds the partition's leader key.
    func proposeInSync(_ keyspace: KeyspaceName, partition: Int, members: Set<NodeID>, epoch: Epoch) async throws
        -> Bool
    /// Whether `me` still leads the partition in `epoch` (a linearizable read of etcd).
    func confirms(_ keyspace: KeyspaceName, partition: Int, me: NodeID, epoch: Epoch) async throws -> Bool
}

/// How a follower reaches its leader (the peer transport).
public protocol LeaderTransport: Sendable {
    func fetch(from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest) async throws
        -> (FetchReply, [LeaderEntry])
}

/// How a leader-mode write ended.
public enum LeaderWriteOutcome: Sendable, Equatable {
    /// Acknowledged at the requested level; the position is the write's token.
    case written(LogPosition)
    /// Refused before it was appended: it did not happen.
    case refused(PartitionLeader.Refusal)
    /// The condition (If-Match / If-None-Match) did not hold; the key's current position.
    case conditionFailed(current: LogPosition?)
    /// This replica does not lead; the leader it knows, if any.
    case notLeader(NodeID?)
    /// Appended, then not acknowledged (leadership or the ISR was lost): it may survive.
    case unknown(String)
}

/// The shell of one leader-mode partition replica (DESIGN section 6): it drives
/// `PartitionLeader` or `PartitionFollower` over the partition's `PartitionLog`, keeps
/// the index of committed values (the latest committed position of each key) and the
/// uncommitted tail, parks fetches until there is something new, has etcd confirm its
/// leadership for linearizable reads, and runs the follower's fetch loop and the
/// leader's ISR ticks in `run`.
public actor LeaderReplica {
    public nonisolated let me: NodeID
    public nonisolated let keyspace: KeyspaceName
    public nonisolated let partition: Int
    let replicas: [NodeID]
    let minInSync: Int
    let lagMillis: UInt64
    let log: PartitionLog
    let coordination: any LeaderCoordination
    let nowMillis: @Sendable () -> UInt64

    private enum Role {
        case follower(PartitionFollower)
        case leader(PartitionLeader)
    }

    private var role: Role
    /// Committed values: each key's latest position at or below the high watermark.
    private var committed: [[UInt8]: LogPosition] = [:]
    private var committedThrough: UInt64 = 0
    /// Appended entries above what is known committed, in sequence order.
    private var tail: [LeaderEntry] = []
    private var nextRequest: UInt64 = 0
    private var waiting: [UInt64: CheckedContinuation<LeaderWriteOutcome, Never>] = [:]
    private var parked: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextPark = 0
    private var proposal: (members: Set<NodeID>, epoch: Epoch)?
    /// A fetch the follower machine decided and the run loop is to send.
    private var pendingFetch: (leader: NodeID, request: FetchRequest)?

    /// Opens the replica over its log as a follower of the epoch the log reached.
    public init(
        me: NodeID, keyspace: KeyspaceName, partition: Int, replicas: [NodeID], minInSync: Int, lagMillis: UInt64,
        log: PartitionLog, coordination: any LeaderCoordination, nowMillis: @escaping @Sendable () -> UInt64
    ) throws(RingstoreError) {
        self.me = me
        self.keyspace = keyspace
        self.partition = partition
        self.replicas = replicas
        self.minInSync = minInSync
        self.lagMillis = lagMillis
        self.log = log
        self.coordination = coordination
        self.nowMillis = nowMillis
        // Nothing is known committed after a restart; the leader's replies say what is.
        tail = try log.read(from: 1, through: log.durable, maxBytes: .max)
        role = .follower(
            PartitionFollower(
                me: me, epoch: log.history.lastEpoch, history: log.history, last: log.durable, highWatermark: 0))
    }

    // MARK: Leadership (from the election)

    /// This replica won `epoch`; `inSync` is the ISR etcd holds.
    public func elected(_ epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64) {
        guard case .follower(let follower) = role, epoch > log.history.lastEpoch, epoch >= follower.epoch else {
            return
        }
        role = .leader(
            PartitionLeader(
                me: me, epoch: epoch, replicas: replicas, inSync: inSync.union([me]), minInSync: minInSync,
                lagMillis: lagMillis, history: log.history, last: log.durable,
                highWatermark: follower.highWatermark, leaseValidUntil: leaseValidUntil, now: nowMillis(),
                formerLeader: follower.leader))
    }

    /// etcd names `node` the leader of `epoch`.
    public func leaderIs(_ node: NodeID, epoch: Epoch) {
        switch role {
        case .leader(var machine):
            guard node != me || epoch != machine.epoch else { return }
            let actions = machine.learned(epoch)
            role = .leader(machine)
            perform(actions)
            if case .follower(var follower) = role {
                let next = follower.leaderElected(node, epoch: epoch)
                role = .follower(follower)
                keepFetch(next)
            }
        case .follower(var follower):
            let next = follower.leaderElected(node, epoch: epoch)
            role = .follower(follower)
            keepFetch(next)
        }
    }

    /// Keeps a fetch the follower machine decided for the run loop.
    private func keepFetch(_ actions: [PartitionFollower.Action]) {
        for case .fetch(let leader, let request) in actions { pendingFetch = (leader, request) }
    }

    /// A lease renewal etcd answered makes the lease hold until `validUntil`.
    public func leaseRenewed(validUntil: UInt64) {
        guard case .leader(var machine) = role else { return }
        let actions = machine.leaseRenewed(validUntil: validUntil, now: nowMillis())
        role = .leader(machine)
        perform(actions)
    }

    /// The leader key is gone with this node's lease.
    public func leaseLost() {
        guard case .leader(var machine) = role else { return }
        let actions = machine.leaseLost()
        role = .leader(machine)
        perform(actions)
    }

    // MARK: Writes

    /// A client write of `key` (value nil: a delete) at `ack`, under `condition`.
    public func write(
        key: [UInt8], value: [UInt8]?, ack: PartitionLeader.Ack, condition: LeaderWriteCondition? = nil
    ) async -> LeaderWriteOutcome {
        guard case .leader = role else { return .notLeader(knownLeader) }
        if let condition {
            let current = latestPosition(key)
            let holds: Bool =
                switch condition {
                case .absent: current == nil || isDelete(at: current!)
                case .matches(let position): current == position
                }
            if !holds {
                // Answered once the position that fails it is committed and the lease
                // holds: an uncommitted one could still be lost.
                return await refuseCondition(current: current)
            }
        }
        guard case .leader(var machine) = role else { return .notLeader(knownLeader) }
        nextRequest += 1
        let request = nextRequest
        switch machine.write(request: request, ack: ack, now: nowMillis()) {
        case .failure(let refusal):
            role = .leader(machine)
            return .refused(refusal)
        case .success(let position):
            role = .leader(machine)
            let entry = LeaderEntry(position: position, key: key, value: value)
            tail.append(entry)
            log.append([entry]) { result in Task { await self.leaderAppended(result) } }
            return await withCheckedContinuation { waiting[request] = $0 }
        }
    }

    private func refuseCondition(current: LogPosition?) async -> LeaderWriteOutcome {
        let deadline = nowMillis() + 1000
        while nowMillis() < deadline {
            guard case .leader(let machine) = role else { return .unknown("leadership was lost") }
            if machine.highWatermark >= (current?.sequence ?? 0), machine.servesLinearizableReads(now: nowMillis()) {
                return .conditionFailed(current: current)
            }
            await waitForChange(millis: 50)
        }
        return .unknown("the value the condition failed on did not commit in time")
    }

    private func leaderAppended(_ result: Result<UInt64, RingstoreError>) {
        guard case .leader(var machine) = role else { return }
        switch result {
        case .success(let through):
            let actions = machine.appended(through: min(through, machine.last), now: nowMillis())
            role = .leader(machine)
            perform(actions)
        case .failure(let error):
            // The log cannot be trusted to hold what waits: say so and stop leading.
            for (_, continuation) in waiting { continuation.resume(returning: .unknown(error.detail)) }
            waiting = [:]
            let actions = machine.learned(Epoch(machine.epoch.value + 1))
            role = .leader(machine)
            perform(actions)
        }
        advanceCommitted()
        wakeParked()
    }

    private func perform(_ actions: [PartitionLeader.Action]) {
        for action in actions {
            switch action {
            case .acknowledge(let request, let position):
                waiting.removeValue(forKey: request)?.resume(returning: .written(position))
            case .refuse(let request, let refusal):
                waiting.removeValue(forKey: request)?.resume(returning: .unknown("\(refusal)"))
            case .proposeInSync(let members, let epoch):
                proposal = (members, epoch)
            case .stepDown(let epoch):
                guard case .leader(let machine) = role else { continue }
                let durable = log.durable
                tail.removeAll { $0.position.sequence > durable }
                role = .follower(
                    PartitionFollower(
                        me: me, epoch: epoch, history: log.history, last: durable,
                        highWatermark: machine.highWatermark))
                proposal = nil
                wakeParked()
            }
        }
        advanceCommitted()
    }

    // MARK: Fetches (leader side)

    /// A follower's fetch: entries after its position (at most ~1 MiB), or, when it has
    /// everything, the answer after something changes or half a second.
    public func fetch(_ request: FetchRequest) async -> (FetchReply, [LeaderEntry]) {
        let deadline = nowMillis() + 500
        while true {
            guard case .leader(var machine) = role else {
                if case .follower(let follower) = role { return (.fenced(epoch: follower.epoch), []) }
                return (.fenced(epoch: .none), [])
            }
            let mark = machine.highWatermark
            let (reply, actions) = machine.fetch(request, now: nowMillis())
            role = .leader(machine)
            perform(actions)
            switch reply {
            case .entries(let epoch, let from, let through, let highWatermark):
                guard let entries = try? log.read(from: from, through: through), let last = entries.last else {
                    return (.upToDate(epoch: epoch, highWatermark: highWatermark), [])
                }
                return (
                    .entries(epoch: epoch, from: from, through: last.position.sequence, highWatermark: highWatermark),
                    entries
                )
            case .upToDate(let epoch, let highWatermark):
                // Its position may have moved the high watermark; otherwise hold the fetch.
                if highWatermark != mark || nowMillis() >= deadline {
                    return (.upToDate(epoch: epoch, highWatermark: highWatermark), [])
                }
                await waitForChange(millis: max(1, Int(deadline - nowMillis())))
            default:
                return (reply, [])
            }
        }
    }

    // MARK: Reads

    /// Reads `key` at `level`; with `after`, first waits (up to `waitMillis`) until the
    /// write at that position is committed here. nil value: no value (or deleted).
    public func read(key: [UInt8], level: LeaderReadLevel, after: LogPosition? = nil, waitMillis: UInt64 = 5000)
        async -> Result<(value: [UInt8]?, position: LogPosition?), LeaderReadFailure>
    {
        let deadline = nowMillis() + waitMillis
        if let after {
            while committedThrough < after.sequence {
                guard nowMillis() < deadline else { return .failure(.timedOut) }
                await waitForChange(millis: 50)
            }
            if log.history.epoch(of: after.sequence) != after.epoch { return .failure(.tokenLost(after)) }
        }
        switch level {
        case .follower:
            return committedValue(key)
        case .leader:
            guard case .leader = role else { return .failure(.notLeader(knownLeader)) }
            return stored(at: latestPosition(key))
        case .linearizable:
            guard case .leader(let machine) = role else { return .failure(.notLeader(knownLeader)) }
            guard await confirmLeadership(epoch: machine.epoch) else { return .failure(.notLeader(knownLeader)) }
            while true {
                guard case .leader(let current) = role, current.epoch == machine.epoch else {
                    return .failure(.notLeader(knownLeader))
                }
                if current.servesLinearizableReads(now: nowMillis()), committedThrough >= current.highWatermark {
                    return committedValue(key)
                }
                guard nowMillis() < deadline else { return .failure(.timedOut) }
                await waitForChange(millis: 50)
            }
        }
    }

    /// Whether etcd still names this replica the leader of `epoch`, asked after the read
    /// arrived. The coordination shares one etcd read among the confirmations that wait
    /// together (`PartitionElection` coalesces them over every partition of the keyspace).
    private func confirmLeadership(epoch: Epoch) async -> Bool {
        (try? await coordination.confirms(keyspace, partition: partition, me: me, epoch: epoch)) ?? false
    }

    // MARK: The follower loop and leader ticks

    /// Fetches while following and ticks while leading, until cancelled.
    public func run(transport: any LeaderTransport) async {
        while !Task.isCancelled {
            switch role {
            case .leader(var machine):
                let actions = machine.tick(now: nowMillis())
                role = .leader(machine)
                perform(actions)
                if let (members, epoch) = proposal {
                    proposal = nil
                    await propose(members, epoch: epoch)
                }
                try? await Task.sleep(for: .milliseconds(20))
            case .follower(var follower):
                // A leader that stepped down with appends in flight: once they are durable,
                // follow from the log's real end (the new leader cuts what it lacks).
                let (logLast, logDurable) = (log.last, log.durable)
                if logLast != logDurable {
                    try? await Task.sleep(for: .milliseconds(5))
                    continue
                }
                if follower.last != logDurable, !follower.busy, pendingFetch == nil {
                    // Entries that became durable after the step-down join the tail.
                    if let entries = try? log.read(from: committedThrough + 1, through: logDurable, maxBytes: .max) {
                        tail = entries
                    }
                    let leader = follower.leader
                    follower = PartitionFollower(
                        me: me, epoch: follower.epoch, history: log.history, last: logDurable,
                        highWatermark: follower.highWatermark)
                    if let leader { keepFetch(follower.leaderElected(leader, epoch: follower.epoch)) }
                }
                if pendingFetch == nil { keepFetch(follower.nextFetch()) }
                role = .follower(follower)
                guard let (leader, request) = pendingFetch else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                pendingFetch = nil
                do {
                    let (reply, entries) = try await transport.fetch(
                        from: leader, keyspace: keyspace, partition: partition, request)
                    await followerFetched(reply, entries: entries)
                } catch {
                    resetFetch()
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }

    private func propose(_ members: Set<NodeID>, epoch: Epoch) async {
        let accepted = try? await coordination.proposeInSync(
            keyspace, partition: partition, members: members, epoch: epoch)
        guard case .leader(var machine) = role, machine.epoch == epoch, machine.proposed == members else { return }
        let actions: [PartitionLeader.Action]
        switch accepted {
        case .some(true): actions = machine.inSyncConfirmed(members, now: nowMillis())
        case .some(false): actions = machine.inSyncRefused(newerEpoch: nil)
        case .none:
            // etcd did not answer: propose again on the next tick.
            proposal = (members, epoch)
            return
        }
        role = .leader(machine)
        perform(actions)
    }

    private func followerFetched(_ reply: FetchReply, entries: [LeaderEntry]) async {
        guard case .follower(var follower) = role else { return }
        let actions = follower.fetched(reply)
        role = .follower(follower)
        for action in actions {
            switch action {
            case .append(let from, let through):
                // Exactly from...through, in order, right after this log's end: anything else
                // from a peer is not appended.
                let batch = entries.filter { (from...through).contains($0.position.sequence) }
                guard batch.map(\.position.sequence).elementsEqual(from...through), log.last + 1 == from,
                    log.durable + 1 == from
                else { return resetFetch() }
                let durable = await appendDurably(batch)
                guard durable == through, case .follower(var current) = role else { return resetFetch() }
                tail.append(contentsOf: batch)
                var epochs: [(epoch: Epoch, start: UInt64)] = []
                for entry in batch where entry.position.epoch != epochs.last?.epoch {
                    epochs.append((entry.position.epoch, entry.position.sequence))
                }
                let next = current.appended(through: through, epochs: epochs)
                role = .follower(current)
                keepFetch(next)
            case .truncate(let sequence):
                // Committed entries are never cut: a leader asking for it is not believed
                // (a peer's message must not make this node lose what it acknowledged).
                guard sequence >= committedThrough else { return resetFetch() }
                await truncateDurably(after: sequence)
                tail.removeAll { $0.position.sequence > sequence }
                guard case .follower(var current) = role else { return }
                let next = current.truncated(after: sequence)
                role = .follower(current)
                keepFetch(next)
            case .fetch(let leader, let request):
                pendingFetch = (leader, request)
            }
        }
        advanceCommitted()
        wakeParked()
    }

    /// The fetch under way failed: the machine decides the next one.
    private func resetFetch() {
        guard case .follower(var follower) = role else { return }
        pendingFetch = nil
        let next = follower.fetchFailed()
        role = .follower(follower)
        keepFetch(next)
    }

    private func appendDurably(_ entries: [LeaderEntry]) async -> UInt64 {
        let target = entries.last!.position.sequence
        let gate = OnceGate()
        return await withCheckedContinuation { continuation in
            log.append(entries) { result in
                switch result {
                case .success(let through) where through >= target:
                    if gate.open() { continuation.resume(returning: through) }
                case .success:
                    break
                case .failure:
                    if gate.open() { continuation.resume(returning: 0) }
                }
            }
        }
    }

    private func truncateDurably(after sequence: UInt64) async {
        await withCheckedContinuation { continuation in
            log.truncate(after: sequence) { _ in continuation.resume() }
        }
    }

    // MARK: Committed data

    /// Moves tail entries at or below the known high watermark into the committed index.
    private func advanceCommitted() {
        let mark: UInt64
        switch role {
        case .leader(let machine): mark = machine.highWatermark
        case .follower(let follower): mark = follower.highWatermark
        }
        guard mark > committedThrough else { return }
        var moved = 0
        for entry in tail {
            guard entry.position.sequence <= mark else { break }
            committed[entry.key] = entry.position
            committedThrough = entry.position.sequence
            moved += 1
        }
        tail.removeFirst(moved)
        committedThrough = max(committedThrough, min(mark, log.durable))
    }

    private func latestPosition(_ key: [UInt8]) -> LogPosition? {
        tail.last { $0.key == key }?.position ?? committed[key]
    }

    private func committedValue(_ key: [UInt8]) -> Result<(value: [UInt8]?, position: LogPosition?), LeaderReadFailure>
    {
        stored(at: committed[key])
    }

    /// The value written at `position` (nil for a delete; both nil for no position).
    private func stored(at position: LogPosition?) -> Result<
        (value: [UInt8]?, position: LogPosition?), LeaderReadFailure
    > {
        guard let position else { return .success((nil, nil)) }
        do {
            return .success((try value(at: position), position))
        } catch {
            return .failure(.storage)
        }
    }

    /// The value at `position`: from the uncommitted tail when it is there (the log may
    /// not be readable yet while its append is in flight), else from the log.
    private func value(at position: LogPosition) throws(RingstoreError) -> [UInt8]? {
        if let entry = tail.last(where: { $0.position == position }) { return entry.value }
        guard let entry = try log.read(from: position.sequence, through: position.sequence).first else {
            throw RingstoreError(.storage, "log entry \(position) is missing")
        }
        return entry.value
    }

    /// Whether the entry at `position` deleted its key.
    private func isDelete(at position: LogPosition) -> Bool {
        do {
            return try value(at: position) == nil
        } catch {
            return false
        }
    }

    private var knownLeader: NodeID? {
        switch role {
        case .leader(let machine): machine.isLeading ? me : nil
        case .follower(let follower): follower.leader
        }
    }

    // MARK: Waiting for change

    private func waitForChange(millis: Int) async {
        nextPark += 1
        let id = nextPark
        await withCheckedContinuation { continuation in
            parked[id] = continuation
            Task {
                try? await Task.sleep(for: .milliseconds(millis))
                self.unpark(id)
            }
        }
    }

    private func unpark(_ id: Int) { parked.removeValue(forKey: id)?.resume() }

    private func wakeParked() {
        let waiting = parked
        parked = [:]
        for continuation in waiting.values { continuation.resume() }
    }

    // MARK: Status

    /// What `/v1/cluster` shows of the partition on this node.
    public struct Status: Sendable, Equatable {
        public var leader: NodeID?
        public var epoch: Epoch
        public var inSync: [NodeID]
        public var highWatermark: UInt64
        public var last: UInt64
        /// Followers' lag behind the leader's log end (on the leader only; a follower that
        /// has not fetched in this epoch is missing).
        public var lag: [NodeID: UInt64]
    }

    public var status: Status {
        switch role {
        case .leader(let machine):
            var lag: [NodeID: UInt64] = [:]
            for follower in replicas where follower != me {
                guard let position = machine.followerPositions[follower] else { continue }
                lag[follower] = machine.durable - min(machine.durable, position)
            }
            return Status(
                leader: machine.isLeading ? me : nil, epoch: machine.epoch, inSync: machine.inSync.sorted(),
                highWatermark: machine.highWatermark, last: machine.durable, lag: lag)
        case .follower(let follower):
            return Status(
                leader: follower.leader, epoch: follower.epoch, inSync: [], highWatermark: follower.highWatermark,
                last: follower.last, lag: [:])
        }
    }
}

/// Why a leader-mode read was not answered.
public enum LeaderReadFailure: Error, Sendable, Equatable {
    case notLeader(NodeID?)
    /// The wait (for `after=`, or for the high watermark) ran out.
    case timedOut
    /// The write of the token is not in this replica's log: it was lost.
    case tokenLost(LogPosition)
    case storage
}

/// Opens once: for completions that may be called more than once.
final class OnceGate: Sendable {
    private let opened = Mutex(false)

    func open() -> Bool {
        opened.withLock { was in
            defer { was = true }
            return !was
        }
    }
}
