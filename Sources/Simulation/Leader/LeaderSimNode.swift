import Replication
import RingstoreCore

/// One replica of the simulated partition: a thin driver of the shipped
/// `LeaderReplicaStateMachine`, as the server's `LeaderReplica` is. It performs the
/// machine's actions on the simulated disk (appends reach it after a delay; a crash loses
/// what had not), network and etcd, and plays the part of the server's etcd shell
/// (`LeadershipLease` and `PartitionLeadership`): a lease kept alive, campaigns where no
/// leader is, the leader etcd names passed on. Its clock runs at its own rate against
/// the world's (`clockRate`: clock-rate drift).
final class LeaderSimNode: @unchecked Sendable {
    let id: NodeID
    unowned let simulation: LeaderSimulation
    let log = SimulatedPartitionLog()
    /// How fast this node's monotonic clock runs against etcd's (the world's).
    let clockRate: Double
    /// nil while the node is down.
    private var machine: LeaderReplicaStateMachine?
    /// Bumped at every boot and crash: disk and timer callbacks of an earlier life are dropped.
    private(set) var generation = 0
    private var pausedUntil: UInt64?
    private var backlog: [(LeaderSimNode) -> Void] = []
    /// The etcd lease of this boot, and the ISR etcd last showed.
    private var lease: UInt64 = 0
    private var inSync: Set<NodeID> = []
    private var diskFreeAt: UInt64 = 0
    private var nextRequest: UInt64 = 0
    private var writeReplies: [ReplicaRequestID: (LeaderWriteOutcome) -> Void] = [:]
    private var readReplies: [ReplicaRequestID: (Result<LeaderRead, LeaderReadFailure>) -> Void] = [:]
    private var incomingFetches: [ReplicaRequestID: (follower: NodeID, number: UInt64)] = [:]
    private var incomingSnapshots: [ReplicaRequestID: (follower: NodeID, number: UInt64)] = [:]

    init(id: NodeID, simulation: LeaderSimulation, clockRate: Double) {
        self.id = id
        self.simulation = simulation
        self.clockRate = clockRate
    }

    private var world: SimulatedWorld { simulation.world }

    /// This node's monotonic clock.
    var now: UInt64 { UInt64(Double(world.nowMillis) * clockRate) }

    var isLeading: Bool { machine?.isLeading ?? false }

    var isInstallingSnapshot: Bool { machine?.isInstallingSnapshot ?? false }

    /// The node's role and log end, for traces.
    var summary: String {
        let tail = log.entries.suffix(3).map { "\($0.position)" }.joined(separator: " ")
        guard let status = machine?.status else { return "down, log ...\(tail)" }
        let role = status.leader == id ? "leader" : "follower of \(status.leader.map(\.description) ?? "-")"
        return "\(role) in \(status.epoch), HW \(status.highWatermark), ISR \(status.inSync), log ...\(tail)"
    }

    // MARK: Process life

    /// Starts (or restarts) over the durable log, as a follower of the epoch it reached.
    func boot() {
        generation += 1
        lease = simulation.newLease()
        do {
            log.open()
            machine = try LeaderReplicaStateMachine(
                configuration: simulation.replicaConfiguration(id), log: log, state: log, mark: log.mark,
                durable: log.durable)
        } catch {
            preconditionFailure("\(id) cannot open its simulated log: \(error)")
        }
        every(100) { $0.heartbeat() }
    }

    /// kill -9: the durable log stays, everything else goes.
    func crash(restartAfter millis: UInt64) {
        if isInstallingSnapshot { simulation.report.crashesMidSnapshot += 1 }
        machine = nil
        generation += 1
        backlog = []
        writeReplies = [:]
        readReplies = [:]
        incomingFetches = [:]
        incomingSnapshots = [:]
        pausedUntil = nil
        world.schedule(afterMillis: millis) { self.boot() }
    }

    /// SIGSTOP for `millis`: whatever arrives meanwhile waits, the clock does not.
    func pause(forMillis millis: UInt64) {
        guard machine != nil else { return }
        pausedUntil = world.nowMillis + millis
        world.schedule(afterMillis: millis) {
            self.pausedUntil = nil
            let waiting = self.backlog
            self.backlog = []
            for body in waiting { self.deliver(body) }
        }
    }

    /// Runs `body` on this node now, later if it is paused, never if it is down.
    func deliver(_ body: @escaping (LeaderSimNode) -> Void) {
        guard machine != nil else { return }
        if pausedUntil != nil {
            backlog.append(body)
            return
        }
        body(self)
    }

    /// Runs `body` after `millis` of this node's clock, in this life only.
    private func after(_ millis: UInt64, _ body: @escaping (LeaderSimNode) -> Void) {
        let born = generation
        let worldMillis = UInt64((Double(millis) / clockRate).rounded(.up))
        world.schedule(afterMillis: worldMillis) {
            guard self.generation == born else { return }
            self.deliver(body)
        }
    }

    /// Runs `body` every `millis` until the node crashes; a paused node skips the beats it
    /// sleeps through.
    private func every(_ millis: UInt64, _ body: @escaping (LeaderSimNode) -> Void) {
        let born = generation
        func beat() {
            world.schedule(afterMillis: UInt64((Double(millis) / clockRate).rounded(.up))) {
                guard self.generation == born, self.machine != nil else { return }
                if self.pausedUntil == nil { body(self) }
                beat()
            }
        }
        beat()
    }

    // MARK: The machine

    private func perform(_ actions: [LeaderReplicaAction]) {
        for action in actions {
            switch action {
            case .append(let entries):
                disk(world.between(1...3)) { node in
                    node.log.append(entries)
                    return { $0.machine!.appended(through: $0.log.durable, now: $0.now) }
                }
            case .truncate(let sequence):
                disk(1) { node in
                    if node.log.durable > sequence {
                        node.simulation.trace(
                            "\(node.id) truncates \(node.log.durable - sequence) entries after \(sequence)")
                    }
                    node.log.truncate(after: sequence)
                    return { $0.machine!.truncated(after: sequence, now: $0.now) }
                }
            case .apply(let entries, let mark):
                disk(world.between(1...3)) { node in
                    node.log.apply(entries, mark: mark)
                    node.simulation.applied(entries, by: node.id)
                    return { $0.machine!.applied(through: mark.applied.sequence, now: $0.now) }
                }
            case .trimLog(let through):
                disk(1) { node in
                    node.log.trim(through: through)
                    return nil
                }
            case .wipeState(let mark):
                simulation.snapshotBegun(by: id)
                disk(1) { node in
                    node.log.wipe(mark: mark)
                    return nil
                }
            case .storeSnapshotPart(let items):
                disk(world.between(1...3)) { node in
                    node.log.store(items)
                    return { $0.machine!.snapshotPartStored(now: $0.now) }
                }
            case .finishInstall(let mark):
                disk(1) { node in
                    node.log.finishInstall(mark)
                    node.simulation.snapshotInstalled(mark.applied, by: node.id)
                    return { $0.machine!.snapshotInstalled(now: $0.now) }
                }
            case .sendSnapshotRequest(let number, let leader, let request):
                let me = id
                simulation.send(from: id, to: leader) { $0.snapshotArrived(request, from: me, number: number) }
            case .answerSnapshot(let request, let reply):
                guard let asker = incomingSnapshots.removeValue(forKey: request) else { continue }
                simulation.send(from: id, to: asker.follower) { node in
                    node.perform(node.machine!.snapshotAnswered(number: asker.number, reply, now: node.now))
                }
            case .sendFetch(let number, let leader, let request):
                let me = id
                simulation.send(from: id, to: leader) { $0.fetchArrived(request, from: me, number: number) }
            case .answerFetch(let request, let reply, let entries):
                guard let asker = incomingFetches.removeValue(forKey: request) else { continue }
                simulation.send(from: id, to: asker.follower) { node in
                    node.perform(
                        node.machine!.fetchAnswered(number: asker.number, reply, entries: entries, now: node.now))
                }
            case .proposeInSync(let members, let epoch):
                let coordinator = simulation.coordinator
                let question: (UInt64) -> Bool = { coordinator.proposeInSync(members, epoch: epoch, now: $0) }
                simulation.askCoordinator(from: id, question) { node, accepted in
                    node.simulation.trace("\(node.id) ISR \(members.sorted()) \(accepted ? "confirmed" : "refused")")
                    node.perform(node.machine!.inSyncAnswered(members, epoch: epoch, accepted: accepted, now: node.now))
                }
            case .confirmLeadership(let epoch):
                let (me, coordinator) = (id, simulation.coordinator)
                let question: (UInt64) -> Bool = { coordinator.confirms(me, epoch: epoch, now: $0) }
                simulation.askCoordinator(from: id, question) { node, confirmed in
                    node.perform(node.machine!.leadershipConfirmed(epoch: epoch, confirmed: confirmed, now: node.now))
                }
            case .completeWrite(let request, let outcome):
                if case .written(let position) = outcome { simulation.leaderAcknowledged(position, by: id) }
                writeReplies.removeValue(forKey: request)?(outcome)
            case .completeRead(let request, let result):
                readReplies.removeValue(forKey: request)?(result)
            case .scheduleTick(let at):
                let local = now
                after(at > local ? at - local : 0) { node in node.perform(node.machine!.tick(now: node.now)) }
            case .logCut(let cut):
                simulation.logCut(cut, by: id)
            case .roleChanged(let leader, let epoch):
                if leader == id {
                    simulation.becameLeader(id, epoch: epoch)
                } else {
                    simulation.trace("\(id) steps down to epoch \(epoch)")
                }
            }
        }
    }

    /// A disk operation: `body` changes the durable partition once the disk gets to it
    /// (after the operations before it, `millis` later) in this life only, and may name
    /// the event to report then.
    private func disk(
        _ millis: UInt64,
        _ body: @escaping (LeaderSimNode) -> ((LeaderSimNode) -> [LeaderReplicaAction])?
    ) {
        let born = generation
        let done = max(diskFreeAt, world.nowMillis) + millis
        diskFreeAt = done
        world.schedule(afterMillis: done - world.nowMillis) {
            guard self.generation == born else { return }
            guard let report = body(self) else { return }
            self.deliver { node in node.perform(report(node)) }
        }
    }

    private func newRequest() -> ReplicaRequestID {
        nextRequest += 1
        return ReplicaRequestID(nextRequest)
    }

    private func fetchArrived(_ request: FetchRequest, from follower: NodeID, number: UInt64) {
        let id = newRequest()
        incomingFetches[id] = (follower, number)
        perform(machine!.fetchReceived(id, request, now: now))
    }

    private func snapshotArrived(_ request: SnapshotRequest, from follower: NodeID, number: UInt64) {
        let id = newRequest()
        incomingSnapshots[id] = (follower, number)
        perform(machine!.snapshotRequested(id, request, now: now))
    }

    // MARK: etcd (the server's LeadershipLease and PartitionLeadership)

    private func heartbeat() {
        let sent = now
        let lease = self.lease
        let coordinator = simulation.coordinator
        let question: (UInt64) -> _ = { coordinator.heartbeat(lease: lease, now: $0) }
        simulation.askCoordinator(from: id, question) { node, answer in
            node.heartbeatAnswered(leader: answer.leader, inSync: answer.inSync, sentAt: sent)
        }
    }

    /// Until when (this node's clock) a lease renewed at `sentAt` surely holds.
    private func validUntil(sentAt: UInt64) -> UInt64 {
        simulation.options.ignoreLease
            ? UInt64.max / 2 : sentAt + simulation.options.leaseMillis - simulation.options.leaseMarginMillis
    }

    private func heartbeatAnswered(leader holder: SimulatedCoordinator.Holder?, inSync: Set<NodeID>, sentAt: UInt64) {
        guard machine != nil else { return }
        self.inSync = inSync
        let mine = holder.map { $0.node == id && $0.lease == lease } ?? false
        if machine!.isLeading {
            if let holder, mine, holder.epoch == machine!.currentEpoch {
                perform(machine!.leaseRenewed(validUntil: validUntil(sentAt: sentAt), now: now))
            } else if let holder, holder.epoch > machine!.currentEpoch {
                perform(machine!.leaderIs(holder.node, epoch: holder.epoch, now: now))
            } else {
                // The leader key went with this node's lease.
                perform(machine!.leaseLost(now: now))
            }
        } else if let holder {
            if mine {
                // The answer to this node's campaign was lost; etcd says it won.
                perform(
                    machine!.elected(
                        holder.epoch, inSync: inSync, leaseValidUntil: validUntil(sentAt: sentAt), now: now))
            } else {
                perform(machine!.leaderIs(holder.node, epoch: holder.epoch, now: now))
            }
        } else if inSync.contains(id) {
            campaign()
        }
    }

    private func campaign() {
        let sent = now
        let (me, lease, coordinator) = (id, self.lease, simulation.coordinator)
        let question: (UInt64) -> _ = { coordinator.campaign(me, lease: lease, now: $0) }
        simulation.askCoordinator(from: id, question) { node, epoch in
            guard let epoch else { return }
            node.perform(
                node.machine!.elected(
                    epoch, inSync: node.inSync, leaseValidUntil: node.validUntil(sentAt: sent), now: node.now))
        }
    }

    // MARK: Clients

    /// A client write; one hop on to the leader this node knows when it does not lead.
    func clientWrite(
        key: String, value: String, ack: LeaderAck, condition: LeaderWriteCondition?, hops: Int,
        reply: @escaping (LeaderSimulation.ClientReply) -> Void
    ) {
        let id = newRequest()
        writeReplies[id] = { [unowned self] outcome in
            switch outcome {
            case .written(let position): respond(reply, .written(position))
            case .conditionFailed: respond(reply, .conditionFailed)
            case .refused(.notEnoughInSyncAfterAppend), .unknown: respond(reply, .unknown)
            case .refused: respond(reply, .refused)
            case .notLeader(let known):
                guard hops > 0, let known, known != self.id else { return respond(reply, .refused) }
                simulation.send(from: self.id, to: known) {
                    $0.clientWrite(key: key, value: value, ack: ack, condition: condition, hops: 0, reply: reply)
                }
            }
        }
        let deadline = now + 1000
        perform(
            machine!.write(
                id, key: Array(key.utf8), value: Array(value.utf8), ack: ack, condition: condition, deadline: deadline,
                now: now))
    }

    /// A client's linearizable read; one hop on to the leader this node knows.
    func clientRead(key: String, hops: Int, reply: @escaping (LeaderSimulation.ClientReply?) -> Void) {
        let id = newRequest()
        readReplies[id] = { [unowned self] result in
            switch result {
            case .success(let read):
                respond(reply, .read(read.value.map { String(decoding: $0, as: UTF8.self) }, read.position))
            case .failure(.notLeader(let known)):
                guard hops > 0, let known, known != self.id else { return respond(reply, nil) }
                simulation.send(from: self.id, to: known) { $0.clientRead(key: key, hops: 0, reply: reply) }
            case .failure:
                respond(reply, nil)
            }
        }
        perform(
            machine!.read(id, key: Array(key.utf8), level: .linearizable, after: nil, deadline: now + 1000, now: now))
    }

    /// A client's follower read of this replica's committed state, once it holds `after`;
    /// `served` hears the answer the moment the replica gives it (the order replicas
    /// answer in is what the checks judge; the answer's trip back comes after).
    func clientFollowerRead(
        key: String, after: LogPosition?, served: @escaping (Result<LeaderRead, LeaderReadFailure>) -> Void
    ) {
        let id = newRequest()
        readReplies[id] = served
        perform(machine!.read(id, key: Array(key.utf8), level: .follower, after: after, deadline: now + 1000, now: now))
    }

    private func respond<T>(_ reply: @escaping (T) -> Void, _ value: T) {
        world.schedule(afterMillis: world.between(1...5)) { reply(value) }
    }
}
