import Replication
import RingstoreCore

/// One replica of the simulated partition: the shell around `PartitionLeader` or
/// `PartitionFollower`, with a durable log (entries reach it after a simulated disk
/// delay), a lease kept alive in the simulated etcd, held fetches, and batched
/// leadership confirmations for linearizable reads.
final class LeaderSimNode: @unchecked Sendable {
    /// One entry of the partition's replication log.
    struct Entry: Equatable {
        var position: LogPosition
        var key: String
        var value: String
        var writeID: Int
    }

    enum Role {
        case follower(PartitionFollower)
        case leader(PartitionLeader)
        case down
    }

    let id: NodeID
    unowned let simulation: LeaderSimulation
    /// The durable log.
    private(set) var log: [Entry] = []
    private var role: Role = .down
    /// Bumped at every crash and role change: disk and timer callbacks of an earlier
    /// generation are dropped.
    private var generation = 0
    private var pausedUntil: UInt64?
    private var backlog: [(LeaderSimNode) -> Void] = []
    private var inSync: Set<NodeID> = []
    /// The etcd lease of this boot.
    private var lease: UInt64 = 0
    // Leader side.
    private var appending: [Entry] = []
    private var diskFreeAt: UInt64 = 0
    private var waiters: [UInt64: (LeaderSimulation.ClientReply) -> Void] = [:]
    private var nextRequest: UInt64 = 0
    private var parked: [(request: FetchRequest, token: Int)] = []
    private var readsWaiting: [(key: String, reply: (LeaderSimulation.ClientReply?) -> Void)] = []
    private var confirming = false
    private var proposalSentAt: UInt64?
    // Follower side.
    private var fetchToken = 0

    init(id: NodeID, simulation: LeaderSimulation) {
        self.id = id
        self.simulation = simulation
    }

    private var world: SimulatedWorld { simulation.world }

    var isLeading: Bool {
        if case .leader(let machine) = role { return machine.isLeading }
        return false
    }

    /// The node's role and log end, for traces.
    var summary: String {
        let tail = log.suffix(3).map { "\($0.position)" }.joined(separator: " ")
        switch role {
        case .leader(let machine):
            return
                "leader of \(machine.epoch), HW \(machine.highWatermark), ISR \(machine.inSync.sorted()), log ...\(tail)"
        case .follower(let machine):
            return
                "follower in \(machine.epoch) of \(machine.leader.map(\.description) ?? "-"), busy \(machine.busy), log ...\(tail)"
        case .down:
            return "down, log ...\(tail)"
        }
    }
    private var now: UInt64 { world.nowMillis }

    // MARK: Process life

    /// Starts (or restarts) as a follower of whatever epoch its log reached.
    func boot() {
        generation += 1
        lease = simulation.newLease()
        var history = EpochHistory()
        for entry in log { history.begin(entry.position.epoch, at: entry.position.sequence) }
        role = .follower(
            PartitionFollower(
                me: id, epoch: history.lastEpoch, history: history, last: UInt64(log.count), highWatermark: 0))
        every(100) { $0.heartbeat() }
        every(20) { $0.tick() }
    }

    /// kill -9: the durable log stays, everything else goes.
    func crash(restartAfter millis: UInt64) {
        role = .down
        generation += 1
        backlog = []
        appending = []
        waiters = [:]
        parked = []
        readsWaiting = []
        confirming = false
        pausedUntil = nil
        world.schedule(afterMillis: millis) { self.boot() }
    }

    /// SIGSTOP for `millis`: whatever arrives meanwhile waits, the clock does not.
    func pause(forMillis millis: UInt64) {
        if case .down = role { return }
        pausedUntil = now + millis
        world.schedule(afterMillis: millis) {
            self.pausedUntil = nil
            let waiting = self.backlog
            self.backlog = []
            for body in waiting { self.deliver(body) }
        }
    }

    /// Runs `body` on this node now, later if it is paused, never if it is down.
    func deliver(_ body: @escaping (LeaderSimNode) -> Void) {
        if case .down = role { return }
        if pausedUntil != nil {
            backlog.append(body)
            return
        }
        body(self)
    }

    /// Runs `body` every `millis` until the node crashes or changes role (which starts
    /// its own timers); a paused node skips the beats it sleeps through.
    private func every(_ millis: UInt64, _ body: @escaping (LeaderSimNode) -> Void) {
        let born = generation
        func beat() {
            world.schedule(afterMillis: millis) {
                guard self.generation == born else { return }
                if case .down = self.role { return }
                if self.pausedUntil == nil { body(self) }
                if self.generation == born { beat() }
            }
        }
        beat()
    }

    private func respond<T>(_ reply: @escaping (T) -> Void, _ value: T) {
        world.schedule(afterMillis: world.between(1...5)) { reply(value) }
    }

    // MARK: etcd

    private func heartbeat() {
        let sent = now
        let lease = self.lease
        let coordinator = simulation.coordinator
        let question: (UInt64) -> _ = { coordinator.heartbeat(lease: lease, now: $0) }
        simulation.askCoordinator(from: id, question) { node, answer in
            node.heartbeatAnswered(leader: answer.leader, inSync: answer.inSync, sentAt: sent)
        }
    }

    private func heartbeatAnswered(leader: SimulatedCoordinator.Holder?, inSync: Set<NodeID>, sentAt: UInt64) {
        self.inSync = inSync
        switch role {
        case .down:
            return
        case .leader(var machine):
            if let leader, leader.node == id, leader.lease == lease, leader.epoch == machine.epoch {
                let validUntil =
                    simulation.options.ignoreLease ? UInt64.max : sentAt + simulation.coordinator.leaseMillis - 50
                let actions = machine.leaseRenewed(validUntil: validUntil, now: now)
                role = .leader(machine)
                perform(actions)
            } else if let leader, leader.epoch > machine.epoch {
                let actions = machine.learned(leader.epoch)
                role = .leader(machine)
                perform(actions)
            } else {
                // The leader key went with this node's lease.
                let actions = machine.leaseLost()
                role = .leader(machine)
                perform(actions)
            }
        case .follower(var machine):
            if let leader {
                if leader.node == id, leader.lease == lease, leader.epoch > machine.history.lastEpoch {
                    // The answer to this node's campaign was lost; etcd says it won.
                    becomeLeader(epoch: leader.epoch, leaseValidUntil: sentAt + simulation.coordinator.leaseMillis - 50)
                    return
                }
                let actions = machine.leaderElected(leader.node, epoch: leader.epoch)
                role = .follower(machine)
                perform(actions)
            } else if inSync.contains(id) {
                campaign()
            }
        }
    }

    private func campaign() {
        let sent = now
        let me = id
        let lease = self.lease
        let coordinator = simulation.coordinator
        let question: (UInt64) -> _ = { coordinator.campaign(me, lease: lease, now: $0) }
        simulation.askCoordinator(from: id, question) { node, epoch in
            guard let epoch, case .follower = node.role else { return }
            node.becomeLeader(epoch: epoch, leaseValidUntil: sent + coordinator.leaseMillis - 50)
        }
    }

    private func becomeLeader(epoch: Epoch, leaseValidUntil: UInt64) {
        guard case .follower(let follower) = role, epoch > follower.history.lastEpoch else { return }
        generation += 1
        every(100) { $0.heartbeat() }
        every(20) { $0.tick() }
        let machine = PartitionLeader(
            me: id, epoch: epoch, replicas: simulation.ids, inSync: inSync.union([id]),
            minInSync: simulation.options.minInSync, lagMillis: simulation.options.lagMillis,
            history: follower.history, last: UInt64(log.count), highWatermark: follower.highWatermark,
            leaseValidUntil: simulation.options.ignoreLease ? UInt64.max : leaseValidUntil, now: now,
            formerLeader: follower.leader)
        role = .leader(machine)
        simulation.becameLeader(id, epoch: epoch)
    }

    private func stepDown(to epoch: Epoch, history: EpochHistory, highWatermark: UInt64) {
        simulation.trace("\(id) steps down to epoch \(epoch)")
        generation += 1
        every(100) { $0.heartbeat() }
        every(20) { $0.tick() }
        var history = history
        history.truncate(after: UInt64(log.count))
        appending = []
        for (_, reply) in readsWaiting { respond(reply, nil) }
        readsWaiting = []
        confirming = false
        for fetch in parked {
            answerFetch(.fenced(epoch: epoch), to: fetch.request.follower, token: fetch.token, entries: [])
        }
        parked = []
        proposalSentAt = nil
        role = .follower(
            PartitionFollower(
                me: id, epoch: epoch, history: history, last: UInt64(log.count), highWatermark: highWatermark))
    }

    // MARK: Leader

    private func tick() {
        switch role {
        case .leader(var machine):
            if let sent = proposalSentAt, now >= sent + 300, let proposed = machine.proposed {
                propose(proposed, epoch: machine.epoch)
            }
            let actions = machine.tick(now: now)
            role = .leader(machine)
            perform(actions)
        case .follower(var machine):
            let actions = machine.nextFetch()
            role = .follower(machine)
            perform(actions)
        case .down:
            break
        }
    }

    private func perform(_ actions: [PartitionLeader.Action]) {
        for action in actions {
            switch action {
            case .acknowledge(let request, let position):
                simulation.leaderAcknowledged(position, by: id)
                if let reply = waiters.removeValue(forKey: request) { respond(reply, .written(position)) }
            case .refuse(let request, _):
                // Refused after it was appended: it may still commit.
                if let reply = waiters.removeValue(forKey: request) { respond(reply, .unknown) }
            case .proposeInSync(let members, let epoch):
                propose(members, epoch: epoch)
            case .stepDown(let epoch):
                guard case .leader(let machine) = role else { return }
                stepDown(to: epoch, history: machine.history, highWatermark: machine.highWatermark)
                return
            }
        }
    }

    private func propose(_ members: Set<NodeID>, epoch: Epoch) {
        proposalSentAt = now
        let coordinator = simulation.coordinator
        let question: (UInt64) -> _ = { coordinator.proposeInSync(members, epoch: epoch, now: $0) }
        simulation.askCoordinator(from: id, question) {
            node, accepted in
            guard case .leader(var machine) = node.role, machine.epoch == epoch, machine.proposed == members else {
                return
            }
            node.proposalSentAt = nil
            node.simulation.trace("\(node.id) ISR \(members.sorted()) \(accepted ? "confirmed" : "refused")")
            let actions =
                accepted ? machine.inSyncConfirmed(members, now: node.now) : machine.inSyncRefused(newerEpoch: nil)
            node.role = .leader(machine)
            node.perform(actions)
        }
    }

    /// A client write; `expected` makes it conditional: `.some(value)` is If-Match with the
    /// value a read returned, `.some(nil)` If-None-Match: *.
    func clientWrite(
        id writeID: Int, key: String, ack: PartitionLeader.Ack, expected: String?? = nil, hops: Int,
        reply: @escaping (LeaderSimulation.ClientReply) -> Void
    ) {
        switch role {
        case .leader(var machine):
            if let expected {
                // Decided on the log's tail, committed or not: an entry after it commits only
                // with everything before it.
                let latest = (log + appending).last { $0.key == key }
                if latest?.value != expected {
                    refuseCondition(
                        after: latest?.position.sequence ?? 0, reply: reply, until: now + 500, born: generation)
                    return
                }
            }
            nextRequest += 1
            let request = nextRequest
            switch machine.write(request: request, ack: ack, now: now) {
            case .success(let position):
                role = .leader(machine)
                waiters[request] = reply
                let entry = Entry(position: position, key: key, value: "w\(writeID)", writeID: writeID)
                appending.append(entry)
                let born = generation
                let done = max(diskFreeAt, now) + world.between(1...3)
                diskFreeAt = done
                world.schedule(afterMillis: done - now) {
                    guard self.generation == born else { return }
                    self.deliver { node in node.durable(entry, born: born) }
                }
            case .failure:
                role = .leader(machine)
                respond(reply, .refused)
            }
        case .follower(let machine):
            guard hops > 0, let leader = machine.leader, leader != id else {
                respond(reply, .refused)
                return
            }
            simulation.send(from: id, to: leader) {
                $0.clientWrite(id: writeID, key: key, ack: ack, expected: expected, hops: 0, reply: reply)
            }
        case .down:
            break
        }
    }

    /// A failed condition is answered (412) only once the entry that fails it is committed
    /// and this node surely still leads: it might otherwise be lost, and the write with it.
    private func refuseCondition(
        after sequence: UInt64, reply: @escaping (LeaderSimulation.ClientReply) -> Void, until: UInt64, born: Int
    ) {
        guard generation == born, case .leader(let machine) = role else { return respond(reply, .unknown) }
        if machine.highWatermark >= sequence, machine.servesLinearizableReads(now: now) {
            respond(reply, .conditionFailed)
        } else if now < until {
            world.schedule(afterMillis: 5) {
                self.deliver { $0.refuseCondition(after: sequence, reply: reply, until: until, born: born) }
            }
        } else {
            respond(reply, .unknown)
        }
    }

    private func durable(_ entry: Entry, born: Int) {
        guard generation == born, case .leader(var machine) = role, appending.first == entry else { return }
        appending.removeFirst()
        precondition(
            log.count + 1 == Int(entry.position.sequence), "\(id) appends \(entry.position) after \(log.count)")
        log.append(entry)
        let actions = machine.appended(through: entry.position.sequence, now: now)
        role = .leader(machine)
        perform(actions)
        let waiting = parked
        parked = []
        for fetch in waiting { handleFetch(fetch.request, token: fetch.token) }
    }

    func handleFetch(_ request: FetchRequest, token: Int) {
        guard case .leader(var machine) = role else {
            let known: Epoch
            if case .follower(let follower) = role { known = follower.epoch } else { known = .none }
            answerFetch(.fenced(epoch: known), to: request.follower, token: token, entries: [])
            return
        }
        let (reply, actions) = machine.fetch(request, now: now)
        role = .leader(machine)
        switch reply {
        case .upToDate:
            parked.append((request, token))
            let born = generation
            world.schedule(afterMillis: 200) {
                self.deliver { node in
                    guard node.generation == born,
                        let index = node.parked.firstIndex(where: { $0.token == token && $0.request == request })
                    else { return }
                    node.parked.remove(at: index)
                    node.answerFetch(reply, to: request.follower, token: token, entries: [])
                }
            }
        case .entries(_, let from, let through, _):
            let end = min(Int(through), Int(from) + 49)
            let batch = Array(log[(Int(from) - 1)..<end])
            let trimmed: FetchReply
            if case .entries(let epoch, _, _, let mark) = reply {
                trimmed = .entries(epoch: epoch, from: from, through: UInt64(end), highWatermark: mark)
            } else {
                trimmed = reply
            }
            answerFetch(trimmed, to: request.follower, token: token, entries: batch)
        default:
            answerFetch(reply, to: request.follower, token: token, entries: [])
        }
        perform(actions)
    }

    private func answerFetch(_ reply: FetchReply, to follower: NodeID, token: Int, entries: [Entry]) {
        simulation.send(from: id, to: follower) { $0.fetchAnswered(reply, entries: entries, token: token) }
    }

    // MARK: Follower

    private func perform(_ actions: [PartitionFollower.Action]) {
        for action in actions {
            switch action {
            case .fetch(let leader, let request):
                fetchToken += 1
                let token = fetchToken
                simulation.send(from: id, to: leader) { $0.handleFetch(request, token: token) }
                let born = generation
                world.schedule(afterMillis: 400) {
                    self.deliver { node in
                        guard node.generation == born, node.fetchToken == token,
                            case .follower(var machine) = node.role,
                            machine.busy
                        else { return }
                        node.fetchToken += 1
                        let next = machine.fetchFailed()
                        node.role = .follower(machine)
                        node.perform(next)
                    }
                }
            case .truncate(let sequence):
                let born = generation
                world.schedule(afterMillis: 1) {
                    self.deliver { node in
                        guard node.generation == born, case .follower(var machine) = node.role else { return }
                        if node.log.count > Int(sequence) {
                            node.simulation.trace(
                                "\(node.id) truncates \(node.log.count - Int(sequence)) entries after \(sequence)")
                            node.log.removeLast(node.log.count - Int(sequence))
                        }
                        let next = machine.truncated(after: sequence)
                        node.role = .follower(machine)
                        node.perform(next)
                    }
                }
            case .append:
                break  // fetchAnswered carries the entries and schedules the write
            }
        }
    }

    private func fetchAnswered(_ reply: FetchReply, entries: [Entry], token: Int) {
        guard token == fetchToken, case .follower(var machine) = role else { return }
        let actions = machine.fetched(reply)
        role = .follower(machine)
        if case .append(let from, let through)? = actions.first {
            precondition(
                entries.count == Int(through - from + 1), "a fetch answered \(entries.count) of \(from)...\(through)")
            let born = generation
            world.schedule(afterMillis: world.between(1...3)) {
                self.deliver { node in
                    guard node.generation == born, case .follower(var machine) = node.role,
                        node.log.count + 1 == Int(from)
                    else { return }
                    node.log.append(contentsOf: entries)
                    var epochs: [(epoch: Epoch, start: UInt64)] = []
                    for entry in entries where entry.position.epoch != epochs.last?.epoch {
                        epochs.append((entry.position.epoch, entry.position.sequence))
                    }
                    let next = machine.appended(through: through, epochs: epochs)
                    node.role = .follower(machine)
                    node.perform(next)
                }
            }
            return
        }
        perform(actions)
    }

    // MARK: Reads

    func clientRead(key: String, hops: Int, reply: @escaping (LeaderSimulation.ClientReply?) -> Void) {
        switch role {
        case .leader:
            readsWaiting.append((key, reply))
            if !confirming { confirm() }
        case .follower(let machine):
            guard hops > 0, let leader = machine.leader, leader != id else {
                respond(reply, .refused)
                return
            }
            simulation.send(from: id, to: leader) { $0.clientRead(key: key, hops: 0, reply: reply) }
        case .down:
            break
        }
    }

    /// One etcd read confirms leadership for every read that arrived before it was sent.
    private func confirm() {
        guard case .leader(let machine) = role, !readsWaiting.isEmpty else { return }
        confirming = true
        let batch = readsWaiting
        readsWaiting = []
        let me = id
        let epoch = machine.epoch
        let born = generation
        let coordinator = simulation.coordinator
        let question: (UInt64) -> _ = { coordinator.confirms(me, epoch: epoch, now: $0) }
        simulation.askCoordinator(from: id, question) { node, confirmed in
            guard node.generation == born else { return }
            node.confirming = false
            for read in batch {
                if confirmed {
                    node.serve(read.key, reply: read.reply, until: node.now + 500, born: born)
                } else {
                    node.respond(read.reply, nil)
                }
            }
            node.confirm()
        }
        // etcd out of reach: give the batch up and let later reads try again.
        world.schedule(afterMillis: 300) {
            self.deliver { node in
                guard node.generation == born, node.confirming else { return }
                node.confirming = false
                for read in batch { node.respond(read.reply, nil) }
                node.confirm()
            }
        }
    }

    /// Answers from the log at the high watermark once it covers what this leader inherited.
    private func serve(
        _ key: String, reply: @escaping (LeaderSimulation.ClientReply?) -> Void, until: UInt64, born: Int
    ) {
        guard generation == born, case .leader(let machine) = role else {
            respond(reply, nil)
            return
        }
        if machine.servesLinearizableReads(now: now) {
            let mark = Int(machine.highWatermark)
            let value = log.prefix(mark).last { $0.key == key }?.value
            respond(reply, .read(value))
        } else if now < until {
            world.schedule(afterMillis: 5) { self.deliver { $0.serve(key, reply: reply, until: until, born: born) } }
        } else {
            respond(reply, nil)
        }
    }
}
