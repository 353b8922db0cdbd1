import Linearizability
import Replication
import RingstoreCore

/// One partition in leader mode, its replicas each the shipped
/// `LeaderReplicaStateMachine` (the server's `LeaderReplica` drives the same type) over a
/// simulated network, disk and etcd, from a seed: clients write (`ack=all` and
/// `ack=leader`), read (`linearizable`: lease reads, or confirmed through etcd) and write
/// conditionally while one fault at a time strikes (a paused leader past its lease, a
/// crash, a node cut from its peers, from etcd, or from both) and the nodes' clocks may
/// run at different rates; then everything heals and the checks run
/// (`LeaderSimulation.Report`).
public final class LeaderSimulation: @unchecked Sendable {
    /// How a run is set up.
    public struct Options: Sendable {
        public var seed: UInt64
        public var replicas = 3
        public var minInSync = 2
        public var leaseMillis: UInt64 = 500
        /// How much earlier than the lease's time to live a node stops trusting it: the
        /// bound on clock-rate drift the lease is safe under (10% here, as on the server).
        public var leaseMarginMillis: UInt64 = 50
        public var lagMillis: UInt64 = 300
        /// Leaders serve linearizable reads under their lease (else each asks etcd).
        public var leaseReads = true
        /// Each node's clock runs at a rate drawn from 1 - drift ... 1 + drift of etcd's.
        public var clockDrift = 0.0
        /// Milliseconds of client load and faults; then 3 s of quiet for catch-up.
        public var durationMillis: UInt64 = 6000
        public var clients = 4
        /// Break the fencing on purpose (tests that the checks catch it): a leader
        /// acknowledges without checking its lease.
        public var ignoreLease = false
        /// How many bytes of entries a log keeps for lagging replicas: small, so that
        /// trimming and snapshots happen in every run.
        public var logRetainBytes = 400

        public init(seed: UInt64) { self.seed = seed }
    }

    /// What a run saw and what its checks found.
    public struct Report: Sendable {
        public var seed: UInt64
        public var elections = 0
        public var acknowledgedAll = 0
        public var acknowledgedLeader = 0
        /// `ack=leader` writes acknowledged and gone from the final log (allowed).
        public var lostLeaderAcks = 0
        public var linearizableReads = 0
        /// Conditional writes that succeeded, and that were refused with 412.
        public var conditionalWrites = 0
        public var failedConditions = 0
        /// Follower reads answered, and refused while a snapshot was being installed.
        public var followerReads = 0
        public var readsRefusedInstalling = 0
        /// Snapshots installed by followers, and installs a crash cut short.
        public var snapshotsInstalled = 0
        public var crashesMidSnapshot = 0
        public var faults: [String] = []
        public var violations: [String] = []
        /// What happened, in order (elections, step-downs, truncations, faults, ISR changes).
        public var trace: [String] = []

        public var passed: Bool { violations.isEmpty }

        public init(seed: UInt64) { self.seed = seed }
    }

    let options: Options
    let world: SimulatedWorld
    let coordinator: SimulatedCoordinator
    let ids: [NodeID]
    var nodes: [NodeID: LeaderSimNode] = [:]
    /// Nodes cut from their peers, and nodes cut from etcd.
    var cutFromPeers: Set<NodeID> = []
    var cutFromCoordinator: Set<NodeID> = []
    var report: Report
    var history: [String: [RegisterOperation]] = [:]
    /// Acknowledged writes: id -> (position, ack level, acknowledging node, time).
    var acknowledged: [Int: (position: LogPosition, ack: PartitionLeader.Ack, at: UInt64)] = [:]
    /// Which node led each epoch (as the nodes themselves saw it).
    var leadersByEpoch: [Epoch: Set<NodeID>] = [:]
    var nextWriteID = 0
    var clientsStop: UInt64

    public init(options: Options) {
        self.options = options
        world = SimulatedWorld(seed: options.seed)
        ids = (1...options.replicas).map { NodeID("n\($0)") }
        coordinator = SimulatedCoordinator(replicas: ids, leaseMillis: options.leaseMillis)
        report = Report(seed: options.seed)
        clientsStop = 0
        for id in ids {
            let rate = 1 + options.clockDrift * (2 * Double.random(in: 0..<1, using: &world.random) - 1)
            nodes[id] = LeaderSimNode(id: id, simulation: self, clockRate: rate)
        }
    }

    /// How every replica of the simulated partition is set up: the server's machine with
    /// the simulation's shorter times.
    func replicaConfiguration(_ id: NodeID) -> LeaderReplicaConfiguration {
        var configuration = LeaderReplicaConfiguration(
            me: id, replicas: ids, minInSync: options.minInSync, lag: .milliseconds(options.lagMillis))
        configuration.leaseReads = options.leaseReads
        configuration.fetchHold = .milliseconds(200)
        configuration.fetchTimeout = .milliseconds(400)
        configuration.fetchRetry = .milliseconds(20)
        configuration.confirmationTimeout = .milliseconds(300)
        configuration.proposalRetry = .milliseconds(300)
        configuration.conditionWait = .milliseconds(500)
        configuration.logRetainBytes = options.logRetainBytes
        // Small parts: a snapshot takes several, and faults strike between them.
        configuration.snapshotPartBytes = 24
        configuration.snapshotIdle = .milliseconds(1000)
        return configuration
    }

    /// Runs the seed and checks it.
    public func run() -> Report {
        let start = world.nowMillis
        let faultsEnd = start + options.durationMillis
        clientsStop = faultsEnd
        for id in ids { nodes[id]!.boot() }
        for client in 0..<options.clients {
            world.schedule(afterMillis: 200 + UInt64(client)) { self.clientStep(client) }
        }
        scheduleFaults(until: faultsEnd - 500)
        world.run(untilMillis: faultsEnd + 3000)
        check()
        return report
    }

    // MARK: Network

    func reachable(_ from: NodeID, _ to: NodeID) -> Bool {
        from == to || (!cutFromPeers.contains(from) && !cutFromPeers.contains(to))
    }

    /// Delivers `body` at `to` after a network delay, if both ends can talk then and at arrival.
    func send(from: NodeID, to: NodeID, _ body: @escaping (LeaderSimNode) -> Void) {
        guard reachable(from, to) else { return }
        world.schedule(afterMillis: world.between(1...5)) {
            guard self.reachable(from, to) else { return }
            self.nodes[to]!.deliver(body)
        }
    }

    /// A request to etcd and its answer, each crossing the network.
    func askCoordinator<T>(
        from node: NodeID, _ request: @escaping (UInt64) -> T, reply: @escaping (LeaderSimNode, T) -> Void
    ) {
        guard !cutFromCoordinator.contains(node) else { return }
        world.schedule(afterMillis: world.between(1...5)) {
            guard !self.cutFromCoordinator.contains(node) else { return }
            let answer = request(self.world.nowMillis)
            self.world.schedule(afterMillis: self.world.between(1...5)) {
                guard !self.cutFromCoordinator.contains(node) else { return }
                self.nodes[node]!.deliver { reply($0, answer) }
            }
        }
    }

    // MARK: Faults

    private func scheduleFaults(until end: UInt64) {
        var at = world.nowMillis + 800
        while at < end {
            let length = world.between(200...1400)
            let kind = world.between(0...4)
            world.schedule(afterMillis: at - world.nowMillis) { self.fault(kind: kind, length: length) }
            at += length + world.between(300...900)
        }
    }

    private func fault(kind: UInt64, length: UInt64) {
        // The leader is the interesting victim; sometimes a follower.
        let leader = coordinator.leader?.node
        let victim = leader != nil && world.chance(0.75) ? leader! : ids[Int(world.between(0...UInt64(ids.count - 1)))]
        let node = nodes[victim]!
        switch kind {
        case 0:
            report.faults.append("pause \(victim) \(length) ms")
            trace("fault: pause \(victim) \(length) ms")
            node.pause(forMillis: length)
        case 1:
            report.faults.append("crash \(victim) for \(length) ms")
            trace("fault: crash \(victim) for \(length) ms")
            node.crash(restartAfter: length)
        case 2:
            report.faults.append("cut \(victim) from its peers \(length) ms")
            trace("fault: cut \(victim) from its peers \(length) ms")
            cutFromPeers.insert(victim)
            world.schedule(afterMillis: length) { self.cutFromPeers.remove(victim) }
        case 3:
            report.faults.append("cut \(victim) from etcd \(length) ms")
            trace("fault: cut \(victim) from etcd \(length) ms")
            cutFromCoordinator.insert(victim)
            world.schedule(afterMillis: length) { self.cutFromCoordinator.remove(victim) }
        default:
            // Clients still reach it: the isolated leader that keeps serving them.
            report.faults.append("isolate \(victim) from etcd and its peers \(length) ms")
            trace("fault: isolate \(victim) \(length) ms")
            cutFromCoordinator.insert(victim)
            cutFromPeers.insert(victim)
            world.schedule(afterMillis: length) {
                self.cutFromCoordinator.remove(victim)
                self.cutFromPeers.remove(victim)
            }
        }
    }

    // MARK: Clients

    enum ClientReply {
        case written(LogPosition)
        /// Refused before it was appended anywhere: it did not happen.
        case refused
        /// It may or may not have happened.
        case unknown
        case read(String?, LogPosition?)
        /// A conditional write whose condition did not hold (412).
        case conditionFailed
    }

    /// What a client operation is: `ack=all` writes and linearizable reads of three keys,
    /// half the reads followed by a conditional `ack=all` write of what they saw (If-Match
    /// with its version, or If-None-Match when they saw nothing); and `ack=leader` writes of
    /// two keys of their own (their losses are allowed, so they stay out of the
    /// linearizability check).
    private enum ClientOperation {
        case write(key: String, ack: PartitionLeader.Ack)
        case read(key: String)
        case conditional(key: String, expected: String?, version: LogPosition?)
        /// A read of any replica's committed state, after the key's last acknowledged write.
        case followerRead(key: String, after: LogPosition?)
    }

    /// What each client's last operation read, if it was a read.
    private var lastRead: [Int: (key: String, value: String?, version: LogPosition?)] = [:]

    private func clientStep(_ client: Int) {
        guard world.nowMillis < clientsStop else { return }
        let roll = world.between(0...10)
        let readKey = "k\(world.between(0...2))"
        var operation: ClientOperation =
            switch roll {
            case 0..<4: .write(key: "k\(roll % 3)", ack: .all)
            case 4..<6: .write(key: "async\(roll % 2)", ack: .leader)
            case 10:
                .followerRead(key: readKey, after: world.chance(0.5) ? lastAcknowledged[readKey] : nil)
            default: .read(key: "k\(roll % 3)")
            }
        // Half the time a read is followed by a conditional write of what it saw.
        if let (key, seen, version) = lastRead.removeValue(forKey: client), world.chance(0.5) {
            operation = .conditional(key: key, expected: seen, version: version)
        }
        var target = ids[Int(world.between(0...UInt64(ids.count - 1)))]
        // Follower reads go where a snapshot is being installed when there is such a node.
        if case .followerRead = operation, let installing = ids.first(where: { nodes[$0]!.isInstallingSnapshot }) {
            target = installing
        }
        let call = world.nowMillis
        nextWriteID += 1
        let writeID = nextWriteID
        var done = false
        let finish: (ClientReply?) -> Void = { reply in
            guard !done else { return }
            done = true
            self.record(client: client, operation, writeID: writeID, call: call, reply: reply)
            self.world.schedule(afterMillis: self.world.between(1...10)) { self.clientStep(client) }
        }
        // A client gives up after a second: the outcome is then unknown.
        world.schedule(afterMillis: 1000) { finish(nil) }
        nodes[target]!.deliver { node in
            switch operation {
            case .write(let key, let ack):
                node.clientWrite(key: key, value: "w\(writeID)", ack: ack, condition: nil, hops: 1) { finish($0) }
            case .read(let key):
                node.clientRead(key: key, hops: 1) { finish($0) }
            case .followerRead(let key, let after):
                node.clientFollowerRead(
                    key: key, after: after,
                    served: { result in
                        switch result {
                        case .success(let read):
                            self.followerReads.append((node.id, node.generation, key, after, read))
                            self.report.followerReads += 1
                        case .failure(.installingSnapshot):
                            self.report.readsRefusedInstalling += 1
                        case .failure:
                            break
                        }
                        self.world.schedule(afterMillis: self.world.between(1...5)) { finish(.refused) }
                    })
            case .conditional(let key, _, let version):
                let condition: LeaderWriteCondition = version.map { .matches($0) } ?? .absent
                node.clientWrite(key: key, value: "w\(writeID)", ack: .all, condition: condition, hops: 1) {
                    finish($0)
                }
            }
        }
    }

    private func record(client: Int, _ operation: ClientOperation, writeID: Int, call: UInt64, reply: ClientReply?) {
        let now = Int64(world.nowMillis)
        switch (operation, reply) {
        case (.write(let key, .all), .written(let position)?):
            acknowledged[writeID] = (position, .all, world.nowMillis)
            lastAcknowledged[key] = max(lastAcknowledged[key] ?? position, position)
            report.acknowledgedAll += 1
            history[key, default: []].append(
                .init(client: client, action: .write("w\(writeID)"), call: Int64(call), returned: now))
        case (.write(let key, .all), .unknown?), (.write(let key, .all), nil):
            history[key, default: []].append(
                .init(client: client, action: .write("w\(writeID)"), call: Int64(call), returned: nil))
        case (.write(_, .leader), .written(let position)?):
            acknowledged[writeID] = (position, .leader, world.nowMillis)
            report.acknowledgedLeader += 1
        case (.conditional(let key, let expected, _), .written(let position)?):
            acknowledged[writeID] = (position, .all, world.nowMillis)
            report.conditionalWrites += 1
            history[key, default: []].append(
                .init(
                    client: client, action: .compareAndSet(expected: expected, new: "w\(writeID)", succeeded: true),
                    call: Int64(call), returned: now))
        case (.conditional(let key, let expected, _), .conditionFailed?):
            report.failedConditions += 1
            history[key, default: []].append(
                .init(
                    client: client, action: .compareAndSet(expected: expected, new: "w\(writeID)", succeeded: false),
                    call: Int64(call), returned: now))
        case (.conditional(let key, let expected, _), .unknown?), (.conditional(let key, let expected, _), nil):
            history[key, default: []].append(
                .init(
                    client: client, action: .compareAndSet(expected: expected, new: "w\(writeID)", succeeded: nil),
                    call: Int64(call), returned: nil))
        case (.read(let key), .read(let value, let version)?):
            lastRead[client] = (key, value, version)
            report.linearizableReads += 1
            history[key, default: []].append(
                .init(client: client, action: .read(value), call: Int64(call), returned: now))
        default:
            break  // refused before it was appended, or a read that did not answer
        }
    }

    /// Each key's latest acknowledged `ack=all` write, for follower reads' `after`.
    private var lastAcknowledged: [String: LogPosition] = [:]
    /// Follower reads answered: by whom, of what, after which token, and what they read.
    private var followerReads: [(node: NodeID, life: Int, key: String, after: LogPosition?, read: LeaderRead)] = []
    /// Every entry any replica applied to its state, by sequence (committed: they must agree).
    var appliedEntries: [UInt64: LeaderEntry] = [:]

    func applied(_ entries: [LeaderEntry], by node: NodeID) {
        for entry in entries {
            if let earlier = appliedEntries[entry.position.sequence], earlier != entry {
                report.violations.append(
                    "\(node) applied \(entry.position) where another replica applied \(earlier.position): committed entries differ"
                )
            }
            appliedEntries[entry.position.sequence] = entry
        }
    }

    /// A follower wiped its state for a snapshot: a third of the time (while faults still
    /// strike) it is killed before the install can complete, and must start over.
    func snapshotBegun(by node: NodeID) {
        trace("\(node) wipes its state for a snapshot")
        guard world.nowMillis < clientsStop, world.chance(0.3) else { return }
        let delay = world.between(1...40)
        let down = world.between(100...800)
        world.schedule(afterMillis: delay) {
            guard self.nodes[node]!.isInstallingSnapshot else { return }
            self.report.faults.append("crash \(node) mid-snapshot for \(down) ms")
            self.trace("fault: crash \(node) mid-snapshot for \(down) ms")
            self.nodes[node]!.crash(restartAfter: down)
        }
    }

    func snapshotInstalled(_ base: LogPosition, by node: NodeID) {
        trace("\(node) installed a snapshot at \(base)")
        report.snapshotsInstalled += 1
    }

    /// A leader acknowledged a write: remember when and in which epoch, for the fencing check.
    func leaderAcknowledged(_ position: LogPosition, by node: NodeID) {
        acknowledgements.append((position.epoch, node, world.nowMillis))
    }

    var acknowledgements: [(epoch: Epoch, node: NodeID, at: UInt64)] = []

    /// Every cut a replica reported (the failover loss report).
    var cuts: [(node: NodeID, cut: LeaderLogCut)] = []

    func logCut(_ cut: LeaderLogCut, by node: NodeID) {
        trace("\(node) reports \(cut.count) entries cut, \(cut.first)...\(cut.last)")
        cuts.append((node, cut))
    }

    private var leases: UInt64 = 0

    /// A fresh etcd lease id (each boot of a node grants its own).
    func newLease() -> UInt64 {
        leases += 1
        return leases
    }

    func trace(_ line: String) {
        report.trace.append("[\(world.nowMillis - 1_000_000) ms] \(line)")
    }

    func becameLeader(_ node: NodeID, epoch: Epoch) {
        trace("\(node) leads epoch \(epoch)")
        leadersByEpoch[epoch, default: []].insert(node)
        report.elections += 1
    }

    // MARK: Checks

    private func check() {
        for (epoch, leaders) in leadersByEpoch where leaders.count > 1 {
            report.violations.append("epoch \(epoch) had \(leaders.count) leaders: \(leaders.sorted())")
        }
        // Fencing: no acknowledgement in an epoch once a later epoch was elected.
        for ack in acknowledgements {
            if let later = coordinator.elections.first(where: { $0.epoch > ack.epoch && $0.at <= ack.at }) {
                report.violations.append(
                    "\(ack.node) acknowledged a write in epoch \(ack.epoch) at \(ack.at) ms, after epoch \(later.epoch) was elected at \(later.at) ms"
                )
            }
        }
        guard let leaderID = coordinator.leader?.node, let leader = nodes[leaderID], leader.isLeading else {
            report.violations.append("no working leader 3 s after the faults healed")
            return
        }
        // The leader's log as it would be untrimmed: trimmed entries were applied somewhere.
        func finalEntry(_ sequence: UInt64) -> LeaderEntry? {
            if sequence > leader.log.logBase {
                let index = Int(sequence - leader.log.logBase - 1)
                return index < leader.log.entries.count ? leader.log.entries[index] : nil
            }
            return appliedEntries[sequence]
        }
        for node in nodes.values.sorted(by: { $0.id < $1.id }) {
            trace("end: \(node.id) \(node.summary)")
        }
        let finalState = leader.log.materialized
        for node in nodes.values where node.id != leaderID {
            if node.log.durable != leader.log.durable || node.log.materialized != finalState {
                report.violations.append(
                    "\(node.id)'s state and log (through \(node.log.durable), \(node.log.materialized.count) keys) differ from leader \(leaderID)'s (through \(leader.log.durable), \(finalState.count) keys)"
                )
            }
            for entry in node.log.entries where entry.position.sequence > leader.log.logBase {
                if finalEntry(entry.position.sequence) != entry {
                    report.violations.append("\(node.id)'s log holds \(entry.position), the leader's does not")
                    break
                }
            }
        }
        // Follower reads: never below their token, always a value committed at the
        // position they name, and never older than an earlier one of the same replica in
        // the same life (committed state only grows there: a half-installed snapshot would
        // read older, or nothing).
        var seen: [String: LogPosition] = [:]
        for read in followerReads {
            let name = "\(read.node)/\(read.life)/\(read.key)"
            let position = read.read.position ?? .start
            if let earlier = seen[name], position < earlier {
                report.violations.append(
                    "\(read.node) answered a follower read of \(read.key) with \(position), older than the \(earlier) it answered before"
                )
            }
            seen[name] = max(seen[name] ?? position, position)
            if let after = read.after, (read.read.position ?? .start) < after {
                report.violations.append(
                    "\(read.node) answered a follower read of \(read.key) after \(after) with \(read.read.position.map(\.description) ?? "nothing")"
                )
            }
            if let position = read.read.position {
                let entry = appliedEntries[position.sequence] ?? finalEntry(position.sequence)
                if entry?.position != position || entry?.key != Array(read.key.utf8) || entry?.value != read.read.value
                {
                    report.violations.append(
                        "\(read.node) answered a follower read of \(read.key) with a value that is not the one committed at \(position)"
                    )
                }
            }
        }
        // The loss report: every cut write listed, and the ranges of cuts too long to list.
        let reported = Set(cuts.flatMap { $0.cut.writes.map(\.position) })
        let unlisted = cuts.filter { $0.cut.writes.count == LeaderLogCut.writesMax }
        for (id, ack) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let entry = finalEntry(ack.position.sequence)
            let present = entry?.value == Array("w\(id)".utf8) && entry?.position == ack.position
            if ack.ack == .all, reported.contains(ack.position) {
                report.violations.append("ack=all write w\(id) at \(ack.position) was reported cut from a log")
            }
            if !present {
                if ack.ack == .all {
                    report.violations.append("ack=all write w\(id) at \(ack.position) is not in the final log")
                } else {
                    report.lostLeaderAcks += 1
                    let covered = unlisted.contains { ($0.cut.first...$0.cut.last).contains(ack.position) }
                    if !reported.contains(ack.position), !covered {
                        report.violations.append(
                            "ack=leader write w\(id) at \(ack.position) was lost and no replica reported it cut")
                    }
                }
            }
        }
        switch LinearizabilityChecker().check(history) {
        case .linearizable: break
        case .notLinearizable(let key, let operations, let linearized):
            report.violations.append(
                "key \(key): not linearizable (\(operations.count) operations, at most \(linearized) placed)")
        case .undecided(let key):
            report.violations.append("key \(key): the linearizability search ran out of steps")
        }
    }
}
