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

/// How a follower reaches its leader (the peer transport). `reply` is called exactly once.
public protocol LeaderTransport: Sendable {
    func fetch(
        from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest,
        reply: @escaping @Sendable (Result<(FetchReply, [LeaderEntry]), RingstoreError>) -> Void)
    /// Asks the leader for part of a partition snapshot.
    func snapshot(
        from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
        reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void)
}

/// The shell of one leader-mode partition replica (DESIGN section 6): it drives the
/// replica's `LeaderReplicaStateMachine` (the same one the simulator runs) and performs
/// its actions: appends, truncations and trims of the partition's `PartitionLog`, applies
/// and snapshot installs on its `PartitionStateStore`, fetches and snapshot parts over
/// the transport, ISR proposals and leadership confirmations through etcd, answers to
/// the clients and peers waiting here, and the one timer the machine asks for.
///
/// Like `MachineRun`, it decides on the thread that brings the event (a store's
/// completion, a peer's frame, a timer) under a lock, which keeps the partition serial;
/// the actions go into one queue that a single drainer performs in decision order (the
/// log sees its appends in sequence, and an event an action raises at once, such as a
/// store that completes inside `append`, is queued rather than deciding inside the lock).
/// An actor would send every event through the cooperative pool: measured, a thread
/// hand-off per event was the largest cost of a replicated write.
public final class LeaderReplica: Sendable {
    public let me: NodeID
    public let keyspace: KeyspaceName
    public let partition: Int
    let log: PartitionLog
    let stateStore: PartitionStateStore
    let coordination: any LeaderCoordination
    let transport: any LeaderTransport
    let timers: any NodeTimers
    let nowMillis: @Sendable () -> UInt64
    let onLogCut: @Sendable (LeaderLogCut, _ monotonicNow: UInt64) -> Void
    let onSnapshot: @Sendable (LeaderSnapshotProgress) -> Void

    private struct State {
        var machine: LeaderReplicaStateMachine
        var writes: [ReplicaRequestID: @Sendable (LeaderWriteOutcome) -> Void] = [:]
        var reads: [ReplicaRequestID: @Sendable (Result<LeaderRead, LeaderReadFailure>) -> Void] = [:]
        var fetches: [ReplicaRequestID: @Sendable (FetchReply, [LeaderEntry]) -> Void] = [:]
        var snapshots: [ReplicaRequestID: @Sendable (SnapshotReply) -> Void] = [:]
        var nextRequest: UInt64 = 0
        var tickTimer: (any TimerHandle)?
        /// Actions decided and not performed yet, and whether a thread is performing them.
        var queue: [LeaderReplicaAction] = []
        var draining = false
    }

    private let state: Mutex<State>

    public typealias Status = LeaderReplicaStatus

    /// Opens the replica over its state and log as a follower of the epoch the log reached.
    /// `nowMillis` is the node's monotonic clock; `onLogCut` hears of entries cut from the
    /// log's tail (`Node.leaderLogCut` reports them).
    public init(
        configuration: LeaderReplicaConfiguration, keyspace: KeyspaceName, partition: Int, log: PartitionLog,
        state stateStore: PartitionStateStore, coordination: any LeaderCoordination, transport: any LeaderTransport,
        timers: any NodeTimers,
        nowMillis: @escaping @Sendable () -> UInt64,
        onLogCut: @escaping @Sendable (LeaderLogCut, _ monotonicNow: UInt64) -> Void = { _, _ in },
        onSnapshot: @escaping @Sendable (LeaderSnapshotProgress) -> Void = { _ in }
    ) throws(RingstoreError) {
        me = configuration.me
        self.onSnapshot = onSnapshot
        self.keyspace = keyspace
        self.partition = partition
        self.log = log
        self.stateStore = stateStore
        self.coordination = coordination
        self.transport = transport
        self.timers = timers
        self.nowMillis = nowMillis
        self.onLogCut = onLogCut
        state = Mutex(
            State(
                machine: try LeaderReplicaStateMachine(
                    configuration: configuration, log: log, state: stateStore, mark: stateStore.opened,
                    durable: log.durable)))
    }

    /// Opens the partition's state and log in `storage` (the state first: its mark says
    /// where the log begins) and the replica over them.
    public convenience init(
        configuration: LeaderReplicaConfiguration, keyspace: KeyspaceName, partition: Int,
        storage: any ReplicaStorage, coordination: any LeaderCoordination, transport: any LeaderTransport,
        timers: any NodeTimers, nowMillis: @escaping @Sendable () -> UInt64,
        onLogCut: @escaping @Sendable (LeaderLogCut, _ monotonicNow: UInt64) -> Void = { _, _ in },
        onSnapshot: @escaping @Sendable (LeaderSnapshotProgress) -> Void = { _ in }
    ) throws(RingstoreError) {
        let state = try PartitionStateStore(storage: storage, keyspace: keyspace, partition: partition)
        let log = try PartitionLog(
            storage: storage, keyspace: keyspace, partition: partition, applied: state.opened.applied.sequence)
        try self.init(
            configuration: configuration, keyspace: keyspace, partition: partition, log: log, state: state,
            coordination: coordination, transport: transport, timers: timers, nowMillis: nowMillis, onLogCut: onLogCut,
            onSnapshot: onSnapshot)
    }

    /// What the replica holds, whole: its state with the durable log entries not applied
    /// yet on top (for tests and tools; it reads every key).
    public func contents() throws(RingstoreError) -> [[UInt8]: PartitionStateItem] {
        var view: [[UInt8]: PartitionStateItem] = [:]
        let applied = state.withLock { $0.machine.appliedThroughSequence }
        for key in try stateStore.keys() { view[key] = try stateStore.item(key) }
        let durable = log.durable
        guard durable > applied else { return view }
        for entry in try log.read(from: applied + 1, through: durable, maxBytes: .max) where !entry.isEpochStart {
            view[entry.key] = entry.value.map {
                PartitionStateItem(key: entry.key, position: entry.position, value: $0)
            }
        }
        return view
    }

    /// The last durable sequence of the replica's log.
    public var durable: UInt64 { log.durable }

    // MARK: Leadership (from the election)

    /// This replica won `epoch`; `inSync` is the ISR etcd holds.
    public func elected(_ epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64) {
        decide { $0.elected(epoch, inSync: inSync, leaseValidUntil: leaseValidUntil, now: $1) }
    }

    /// etcd names `node` the leader of `epoch`.
    public func leaderIs(_ node: NodeID, epoch: Epoch) {
        decide { $0.leaderIs(node, epoch: epoch, now: $1) }
    }

    /// A lease renewal etcd answered makes the lease hold until `validUntil`.
    public func leaseRenewed(validUntil: UInt64) {
        decide { $0.leaseRenewed(validUntil: validUntil, now: $1) }
    }

    /// The leader key is gone with this node's lease.
    public func leaseLost() {
        decide { $0.leaseLost(now: $1) }
    }

    // MARK: Clients and peers

    /// A client write of `key` (value nil: a delete) at `ack`, under `condition`; answered
    /// within `timeoutMillis` (`.unknown` when it was appended and not acknowledged by then).
    public func write(
        key: [UInt8], value: [UInt8]?, ack: LeaderAck, condition: LeaderWriteCondition? = nil,
        timeoutMillis: UInt32 = 5000, completion: @escaping @Sendable (LeaderWriteOutcome) -> Void
    ) {
        decideWithState { state, now in
            let id = Self.newRequest(&state)
            state.writes[id] = completion
            return state.machine.write(
                id, key: key, value: value, ack: ack, condition: condition, deadline: now + UInt64(timeoutMillis),
                now: now)
        }
    }

    public func write(
        key: [UInt8], value: [UInt8]?, ack: LeaderAck, condition: LeaderWriteCondition? = nil,
        timeoutMillis: UInt32 = 5000
    ) async -> LeaderWriteOutcome {
        await withCheckedContinuation { continuation in
            write(key: key, value: value, ack: ack, condition: condition, timeoutMillis: timeoutMillis) {
                continuation.resume(returning: $0)
            }
        }
    }

    /// Reads `key` at `level`; with `after`, once the write at that position is committed
    /// here. Answered within `waitMillis`.
    public func read(
        key: [UInt8], level: LeaderReadLevel, after: LogPosition? = nil, waitMillis: UInt64 = 5000,
        completion: @escaping @Sendable (Result<LeaderRead, LeaderReadFailure>) -> Void
    ) {
        decideWithState { state, now in
            let id = Self.newRequest(&state)
            state.reads[id] = completion
            return state.machine.read(id, key: key, level: level, after: after, deadline: now + waitMillis, now: now)
        }
    }

    public func read(key: [UInt8], level: LeaderReadLevel, after: LogPosition? = nil, waitMillis: UInt64 = 5000)
        async -> Result<LeaderRead, LeaderReadFailure>
    {
        await withCheckedContinuation { continuation in
            read(key: key, level: level, after: after, waitMillis: waitMillis) { continuation.resume(returning: $0) }
        }
    }

    /// A follower's fetch: entries after its position, or, when it has everything, the
    /// answer once something changes (or the leader's hold is over).
    public func fetch(_ request: FetchRequest, reply: @escaping @Sendable (FetchReply, [LeaderEntry]) -> Void) {
        decideWithState { state, now in
            let id = Self.newRequest(&state)
            state.fetches[id] = reply
            return state.machine.fetchReceived(id, request, now: now)
        }
    }

    public func fetch(_ request: FetchRequest) async -> (FetchReply, [LeaderEntry]) {
        await withCheckedContinuation { continuation in
            fetch(request) { continuation.resume(returning: ($0, $1)) }
        }
    }

    /// A follower's request for part of a snapshot of the partition.
    public func snapshot(_ request: SnapshotRequest, reply: @escaping @Sendable (SnapshotReply) -> Void) {
        decideWithState { state, now in
            let id = Self.newRequest(&state)
            state.snapshots[id] = reply
            return state.machine.snapshotRequested(id, request, now: now)
        }
    }

    /// What `/v1/cluster` shows of the partition on this node.
    public var status: Status { state.withLock { $0.machine.status } }

    private static func bytes(_ items: [PartitionStateItem]) -> Int {
        items.reduce(0) { $0 + $1.key.count + $1.value.count }
    }

    private static func newRequest(_ state: inout State) -> ReplicaRequestID {
        state.nextRequest += 1
        return ReplicaRequestID(state.nextRequest)
    }

    // MARK: Deciding and acting

    private func decide(_ event: (inout LeaderReplicaStateMachine, UInt64) -> [LeaderReplicaAction]) {
        decideWithState { state, now in event(&state.machine, now) }
    }

    /// Takes an event to the machine under the lock and queues what it decided; the
    /// thread that finds nobody draining the queue performs it, in order.
    private func decideWithState(_ event: (inout State, UInt64) -> [LeaderReplicaAction]) {
        let drain = state.withLock { state in
            // Read under the lock, so the machine sees instants in the order it sees events.
            state.queue += event(&state, nowMillis())
            defer { state.draining = true }
            return !state.draining
        }
        guard drain else { return }
        while true {
            let batch = state.withLock { state in
                defer { state.queue = [] }
                if state.queue.isEmpty { state.draining = false }
                return state.queue
            }
            if batch.isEmpty { return }
            for action in batch { perform(action) }
        }
    }

    private func perform(_ action: LeaderReplicaAction) {
        switch action {
        case .append(let entries):
            log.append(entries) { [self] result in
                switch result {
                // The log's own durable end is what counts: a completion that arrives
                // late, after a truncation, must not report entries appended since.
                case .success: decide { $0.appended(through: log.durable, now: $1) }
                case .failure(let error): decide { $0.appendFailed(error.detail, now: $1) }
                }
            }
        case .truncate(let sequence):
            log.truncate(after: sequence) { [self] error in
                if let error {
                    decide { $0.appendFailed(error.detail, now: $1) }
                } else {
                    decide { $0.truncated(after: sequence, now: $1) }
                }
            }
        case .sendFetch(let number, let leader, let request):
            transport.fetch(from: leader, keyspace: keyspace, partition: partition, request) { [self] result in
                switch result {
                case .success(let (reply, entries)):
                    decide { $0.fetchAnswered(number: number, reply, entries: entries, now: $1) }
                case .failure:
                    decide { $0.fetchFailed(number: number, now: $1) }
                }
            }
        case .answerFetch(let id, let reply, let entries):
            state.withLock { $0.fetches.removeValue(forKey: id) }?(reply, entries)
        case .proposeInSync(let members, let epoch):
            Task {
                let accepted = try? await coordination.proposeInSync(
                    keyspace, partition: partition, members: members, epoch: epoch)
                decide { $0.inSyncAnswered(members, epoch: epoch, accepted: accepted, now: $1) }
            }
        case .confirmLeadership(let epoch):
            Task {
                let confirmed = try? await coordination.confirms(keyspace, partition: partition, me: me, epoch: epoch)
                decide { $0.leadershipConfirmed(epoch: epoch, confirmed: confirmed, now: $1) }
            }
        case .completeWrite(let id, let outcome):
            state.withLock { $0.writes.removeValue(forKey: id) }?(outcome)
        case .completeRead(let id, let result):
            state.withLock { $0.reads.removeValue(forKey: id) }?(result)
        case .scheduleTick(let at):
            let now = nowMillis()
            let timer = timers.after(millis: UInt32(clamping: at > now ? at - now : 0)) { [self] in
                decide { $0.tick(now: $1) }
            }
            state.withLock { $0.tickTimer.replace(with: timer) }?.cancel()
        case .roleChanged:
            break
        case .apply(let entries, let mark):
            stateStore.apply(entries, mark: mark) { [self] error in
                if let error {
                    decide { $0.appendFailed(error.detail, now: $1) }
                } else {
                    decide { $0.applied(through: mark.applied.sequence, now: $1) }
                }
            }
        case .trimLog(let through):
            log.trim(through: through)
        case .sendSnapshotRequest(let number, let leader, let request):
            transport.snapshot(from: leader, keyspace: keyspace, partition: partition, request) { [self] result in
                switch result {
                case .success(let reply): decide { $0.snapshotAnswered(number: number, reply, now: $1) }
                case .failure: decide { $0.snapshotRequestFailed(number: number, now: $1) }
                }
            }
        case .answerSnapshot(let id, let reply):
            if case .chunk(_, _, _, let items, _) = reply { onSnapshot(.partServed(bytes: Self.bytes(items))) }
            state.withLock { $0.snapshots.removeValue(forKey: id) }?(reply)
        case .wipeState(let mark):
            onSnapshot(.begun)
            stateStore.wipe(mark: mark, log: log)
        case .storeSnapshotPart(let items):
            onSnapshot(.partStored(items: items.count, bytes: Self.bytes(items)))
            stateStore.store(items) { [self] error in
                if let error {
                    decide { $0.appendFailed(error.detail, now: $1) }
                } else {
                    decide { $0.snapshotPartStored(now: $1) }
                }
            }
        case .finishInstall(let mark):
            log.installed(through: mark.applied.sequence)
            stateStore.store(mark: mark) { [self] error in
                if let error {
                    decide { $0.appendFailed(error.detail, now: $1) }
                } else {
                    onSnapshot(.installed(base: mark.applied))
                    decide { $0.snapshotInstalled(now: $1) }
                }
            }
        case .logCut(let cut):
            onLogCut(cut, nowMillis())
        }
    }
}

extension Optional where Wrapped == any TimerHandle {
    /// Puts `timer` in place and hands back the one it replaces.
    fileprivate mutating func replace(with timer: any TimerHandle) -> (any TimerHandle)? {
        defer { self = timer }
        return self
    }
}
