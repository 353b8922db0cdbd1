import Replication
import RingstoreCore

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

/// The shell of one leader-mode partition replica (DESIGN section 6): it drives the
/// replica's `LeaderReplicaStateMachine` (the same one the simulator runs) and performs
/// its actions: appends and truncations of the partition's `PartitionLog`, fetches over
/// the transport, ISR proposals and leadership confirmations through etcd, answers to
/// the clients and peers waiting here, and the one timer the machine asks for. One actor
/// per replica keeps a partition serial; the machine decides, the actor then acts.
public actor LeaderReplica {
    public nonisolated let me: NodeID
    public nonisolated let keyspace: KeyspaceName
    public nonisolated let partition: Int
    let log: PartitionLog
    let coordination: any LeaderCoordination
    let transport: any LeaderTransport
    let timers: any NodeTimers
    let nowMillis: @Sendable () -> UInt64

    private var machine: LeaderReplicaStateMachine
    private var writes: [ReplicaRequestID: CheckedContinuation<LeaderWriteOutcome, Never>] = [:]
    private var reads: [ReplicaRequestID: CheckedContinuation<Result<LeaderRead, LeaderReadFailure>, Never>] = [:]
    private var fetches: [ReplicaRequestID: CheckedContinuation<(FetchReply, [LeaderEntry]), Never>] = [:]
    private var nextRequest: UInt64 = 0
    private var tickTimer: (any TimerHandle)?

    public typealias Status = LeaderReplicaStatus

    /// Opens the replica over its log as a follower of the epoch the log reached.
    /// `nowMillis` is the node's monotonic clock.
    public init(
        configuration: LeaderReplicaConfiguration, keyspace: KeyspaceName, partition: Int, log: PartitionLog,
        coordination: any LeaderCoordination, transport: any LeaderTransport, timers: any NodeTimers,
        nowMillis: @escaping @Sendable () -> UInt64
    ) throws(RingstoreError) {
        me = configuration.me
        self.keyspace = keyspace
        self.partition = partition
        self.log = log
        self.coordination = coordination
        self.transport = transport
        self.timers = timers
        self.nowMillis = nowMillis
        machine = try LeaderReplicaStateMachine(configuration: configuration, log: log, durable: log.durable)
    }

    // MARK: Leadership (from the election)

    /// This replica won `epoch`; `inSync` is the ISR etcd holds.
    public func elected(_ epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64) {
        perform(machine.elected(epoch, inSync: inSync, leaseValidUntil: leaseValidUntil, now: nowMillis()))
    }

    /// etcd names `node` the leader of `epoch`.
    public func leaderIs(_ node: NodeID, epoch: Epoch) {
        perform(machine.leaderIs(node, epoch: epoch, now: nowMillis()))
    }

    /// A lease renewal etcd answered makes the lease hold until `validUntil`.
    public func leaseRenewed(validUntil: UInt64) {
        perform(machine.leaseRenewed(validUntil: validUntil, now: nowMillis()))
    }

    /// The leader key is gone with this node's lease.
    public func leaseLost() {
        perform(machine.leaseLost(now: nowMillis()))
    }

    // MARK: Clients and peers

    /// A client write of `key` (value nil: a delete) at `ack`, under `condition`; answered
    /// within `timeoutMillis` (`.unknown` when it was appended and not acknowledged by then).
    public func write(
        key: [UInt8], value: [UInt8]?, ack: LeaderAck, condition: LeaderWriteCondition? = nil,
        timeoutMillis: UInt32 = 5000
    ) async -> LeaderWriteOutcome {
        let id = newRequest()
        let now = nowMillis()
        return await withCheckedContinuation { continuation in
            writes[id] = continuation
            perform(
                machine.write(
                    id, key: key, value: value, ack: ack, condition: condition, deadline: now + UInt64(timeoutMillis),
                    now: now))
        }
    }

    /// Reads `key` at `level`; with `after`, once the write at that position is committed
    /// here. Answered within `waitMillis`.
    public func read(key: [UInt8], level: LeaderReadLevel, after: LogPosition? = nil, waitMillis: UInt64 = 5000)
        async -> Result<LeaderRead, LeaderReadFailure>
    {
        let id = newRequest()
        let now = nowMillis()
        return await withCheckedContinuation { continuation in
            reads[id] = continuation
            perform(machine.read(id, key: key, level: level, after: after, deadline: now + waitMillis, now: now))
        }
    }

    /// A follower's fetch: entries after its position, or, when it has everything, the
    /// answer once something changes (or the leader's hold is over).
    public func fetch(_ request: FetchRequest) async -> (FetchReply, [LeaderEntry]) {
        let id = newRequest()
        return await withCheckedContinuation { continuation in
            fetches[id] = continuation
            perform(machine.fetchReceived(id, request, now: nowMillis()))
        }
    }

    /// What `/v1/cluster` shows of the partition on this node.
    public var status: Status { machine.status }

    private func newRequest() -> ReplicaRequestID {
        nextRequest += 1
        return ReplicaRequestID(nextRequest)
    }

    // MARK: Performing the machine's actions

    private func perform(_ actions: [LeaderReplicaAction]) {
        for action in actions {
            switch action {
            case .append(let entries):
                log.append(entries) { result in
                    Task { await self.appendCompleted(result.map { _ in () }) }
                }
            case .truncate(let sequence):
                log.truncate(after: sequence) { error in
                    Task { await self.truncateCompleted(after: sequence, error: error) }
                }
            case .sendFetch(let number, let leader, let request):
                Task { await self.sendFetch(number, to: leader, request) }
            case .answerFetch(let id, let reply, let entries):
                fetches.removeValue(forKey: id)?.resume(returning: (reply, entries))
            case .proposeInSync(let members, let epoch):
                Task {
                    let accepted = try? await coordination.proposeInSync(
                        keyspace, partition: partition, members: members, epoch: epoch)
                    await self.inSyncAnswered(members, epoch: epoch, accepted: accepted)
                }
            case .confirmLeadership(let epoch):
                Task {
                    let confirmed = try? await coordination.confirms(
                        keyspace, partition: partition, me: me, epoch: epoch)
                    await self.leadershipConfirmed(epoch, confirmed: confirmed)
                }
            case .completeWrite(let id, let outcome):
                writes.removeValue(forKey: id)?.resume(returning: outcome)
            case .completeRead(let id, let result):
                reads.removeValue(forKey: id)?.resume(returning: result)
            case .scheduleTick(let at):
                let now = nowMillis()
                tickTimer?.cancel()
                tickTimer = timers.after(millis: UInt32(clamping: at > now ? at - now : 0)) {
                    Task { await self.tick() }
                }
            case .roleChanged:
                break
            }
        }
    }

    /// The log grew durable (or failed). The log's own durable end is what counts: a
    /// completion that arrives late, after a truncation, must not report entries appended
    /// since.
    private func appendCompleted(_ result: Result<Void, RingstoreError>) {
        switch result {
        case .success: perform(machine.appended(through: log.durable, now: nowMillis()))
        case .failure(let error): perform(machine.appendFailed(error.detail, now: nowMillis()))
        }
    }

    private func truncateCompleted(after sequence: UInt64, error: RingstoreError?) {
        if let error {
            perform(machine.appendFailed(error.detail, now: nowMillis()))
        } else {
            perform(machine.truncated(after: sequence, now: nowMillis()))
        }
    }

    private func sendFetch(_ number: UInt64, to leader: NodeID, _ request: FetchRequest) async {
        do {
            let (reply, entries) = try await transport.fetch(
                from: leader, keyspace: keyspace, partition: partition, request)
            perform(machine.fetchAnswered(number: number, reply, entries: entries, now: nowMillis()))
        } catch {
            perform(machine.fetchFailed(number: number, now: nowMillis()))
        }
    }

    private func inSyncAnswered(_ members: Set<NodeID>, epoch: Epoch, accepted: Bool?) {
        perform(machine.inSyncAnswered(members, epoch: epoch, accepted: accepted, now: nowMillis()))
    }

    private func leadershipConfirmed(_ epoch: Epoch, confirmed: Bool?) {
        perform(machine.leadershipConfirmed(epoch: epoch, confirmed: confirmed, now: nowMillis()))
    }

    private func tick() {
        perform(machine.tick(now: nowMillis()))
    }
}
