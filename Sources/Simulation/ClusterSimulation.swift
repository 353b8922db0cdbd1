import Logging
import Replication
import RingstoreCore
import RingstoreNode

/// A whole leaderless cluster in one process (DESIGN section 9): real `Node`s over the
/// simulated network, disks and clock, a workload of clients writing unique values and
/// reading, and faults (partitions, one-way cuts, message loss and duplication, crashes
/// with loss of unsynced writes, clock skew between nodes), all decided by one seed.
/// Hinted handoff, anti-entropy and tombstone purging (grace 500 ms: above timeouts plus skew) run throughout.
/// With `ringChanges`, nodes join, leave and replace members at random moments of the
/// faulty run (`cluster commit` of one change at a time, partitions moving with their data
/// through each node's `RingMoves`; a replaced node may be dead for good). After the faults
/// heal and the moves end, every key is read at `r=all` and `check()` says whether any
/// promise was broken.
public final class ClusterSimulation: @unchecked Sendable {
    /// The cluster and workload of one run.
    public struct Options: Sendable {
        public var nodeCount = 3
        public var replicationFactor = 3
        public var policy = ConflictPolicy.vv
        public var writeLevel = ConsistencyLevel.quorum
        public var readLevel = ConsistencyLevel.quorum
        public var keys = 4
        public var operations = 120
        public var faults = true
        /// Whether writes let fallbacks stand in for unreachable owners (hinted handoff).
        public var sloppy = false
        /// Whether nodes join, leave and replace members during the run (two spare nodes
        /// run outside the ring from the start).
        public var ringChanges = false
        /// Whether anti-entropy runs. Without it, a write only some replicas got stays there
        /// until a read repairs it, so a partition move that loses a copy shows.
        public var antiEntropy = true

        public init(nodeCount: Int = 3, policy: ConflictPolicy = .vv, sloppy: Bool = false, ringChanges: Bool = false) {
            self.nodeCount = nodeCount
            self.policy = policy
            self.sloppy = sloppy
            self.ringChanges = ringChanges
        }
    }

    /// One acknowledged write: what the client was told, and when.
    public struct AcknowledgedWrite: Sendable {
        public var key: String
        /// nil for a delete.
        public var value: [UInt8]?
        public var outcome: WriteOutcome
        /// The context the client sent (what the write replaced).
        public var context: VersionVector?
        public var invokedAt: UInt64
        public var acknowledgedAt: UInt64
    }

    /// One successful read during the run: when it started and what it returned.
    public struct CompletedRead: Sendable {
        public var key: String
        public var startedAt: UInt64
        public var object: ReplicaObject?
    }

    public let seed: UInt64
    public let options: Options
    let world: SimulatedWorld
    let network: SimulatedNetwork
    let directory: SimulatedRingDirectory
    /// The ring as the simulated etcd holds it now.
    var ring: Ring { directory.stored }
    /// Every node of the run: the first members and the spares.
    let ids: [NodeID]
    /// Each running node's part in the ring's moves.
    private var moves: [NodeID: RingMoves] = [:]
    /// Partitions that still moved once the heal was over (each should have finished).
    public private(set) var unfinishedMoves = 0
    /// When each partition's draining phase began.
    private var drainingSince: [Int: UInt64] = [:]
    /// Copies a move lost: found when it ended (see `checkMoveEnd`).
    public private(set) var movesLosingCopies: [String] = []
    /// Nodes replaced while dead: they never start again.
    private(set) var dead: Set<NodeID> = []
    /// The ring changes committed, as `join n4`, `leave n2`, `replace n1 n5`.
    public private(set) var ringChanges: [String] = []
    let keyspace: Keyspace
    var storages: [NodeID: SimulatedStorage] = [:]
    var hintStorages: [NodeID: SimulatedStorage] = [:]
    /// The hints each node still kept at the end, after the heal (they should all have
    /// been handed over).
    public private(set) var hintsLeft: [NodeID: Int] = [:]
    public private(set) var acknowledged: [AcknowledgedWrite] = []
    public private(set) var failedWrites = 0
    /// Acknowledged writes that a fallback held for at least one owner.
    public var hintedWrites: Int { acknowledged.filter { !$0.outcome.hinted.isEmpty }.count }
    public private(set) var reads = 0
    public private(set) var completedReads: [CompletedRead] = []
    /// The object each key had at the final `r=all` read, and each owner's copy after repair.
    public private(set) var finalObjects: [String: ReplicaObject?] = [:]
    public private(set) var ownerCopies: [String: [NodeID: ReplicaObject?]] = [:]
    /// Each owner's copy after the heal and hint replay, before the final read repairs it.
    public private(set) var copiesBeforeRepair: [String: [NodeID: ReplicaObject?]] = [:]
    public private(set) var log: [String] = []
    /// Every context a client sent with a write, per key, whatever the write's outcome:
    /// only a write whose context covers a dot may replace that dot's value.
    public private(set) var sentContexts: [String: [VersionVector]] = [:]
    /// When each delete of a key was invoked, whatever its outcome.
    public private(set) var deletesInvoked: [String: [UInt64]] = [:]
    /// The context clients last read per key; most writes send it back.
    var clientContexts: [String: VersionVector] = [:]

    public init(seed: UInt64, options: Options = Options()) throws {
        self.seed = seed
        self.options = options
        world = SimulatedWorld(seed: seed)
        network = SimulatedNetwork(world: world)
        let members = (1...options.nodeCount).map { NodeID("n\($0)") }
        ids =
            members
            + (options.ringChanges ? [NodeID("n\(options.nodeCount + 1)"), NodeID("n\(options.nodeCount + 2)")] : [])
        directory = SimulatedRingDirectory(
            world: world, network: network, ring: try Ring(partitionCount: 16, nodes: members))
        keyspace = Keyspace(
            name: try KeyspaceName(validating: "sim"), replicationFactor: options.replicationFactor,
            conflict: options.policy, sloppy: options.sloppy)
        directory.onStore = { [unowned self] old, new in checkMoveEnd(old, new) }
        for id in ids {
            storages[id] = SimulatedStorage(world: world)
            hintStorages[id] = SimulatedStorage(world: world)
            try start(id)
        }
    }

    /// Each node's wall clock runs ahead of the simulated time by up to 200 ms: clock
    /// skew, which LWW must survive (acknowledged writes lose only to newer timestamps).
    var clockOffsets: [NodeID: UInt64] = [:]

    private func start(_ id: NodeID) throws {
        let world = world
        let offset = clockOffsets[id] ?? world.between(0...200)
        clockOffsets[id] = offset
        let environment = NodeEnvironment(
            wallMillis: { world.nowMillis + offset }, network: network.endpoint(for: id),
            timers: SimulatedTimers(world: world))
        let node = try Node(
            id: id, storage: storages[id]!, ring: directory.stored,
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }), environment: environment,
            defaultTimeoutMillis: 200, hintStorage: hintStorages[id]!,
            handoff: HandoffSettings(
                bytesPerSecond: 20_000, inFlightMax: 4, intervalMillis: 20, timeoutMillis: 200, backoffMaxMillis: 200),
            antiEntropy: AntiEntropySettings(
                intervalMillis: 25, keysPerSecond: 2000, timeoutMillis: 200, enabled: options.antiEntropy),
            tombstones: TombstoneSettings(graceMillis: 500, intervalMillis: 20, timeoutMillis: 200),
            transferBytesPerSecond: 200_000)
        node.install(keyspaces: [keyspace])
        network.nodes[id] = node
        moves[id] = RingMoves(node: node, directory: directory, parallel: 2, intervalMillis: 25)
        moves[id]!.start()
    }

    private func crash(_ id: NodeID) {
        guard network.nodes[id] != nil else { return }
        log.append("\(world.nowMillis): crash \(id)")
        network.nodes[id]!.stop()
        network.nodes[id] = nil
        network.incarnations[id, default: 0] += 1
        storages[id]!.crash()
        hintStorages[id]!.crash()
    }

    private func restart(_ id: NodeID) {
        guard network.nodes[id] == nil, !dead.contains(id) else { return }
        log.append("\(world.nowMillis): restart \(id)")
        try? start(id)
    }

    private func key(_ index: Int) -> String { "k\(index)" }

    /// Runs the workload and the faults, heals, reads every key at `r=all`, and lets
    /// read repair finish.
    public func run() {
        let start = world.nowMillis
        let end = start + UInt64(options.operations) * 10
        for operation in 0..<options.operations {
            world.schedule(afterMillis: UInt64(operation) * 10 + world.between(0...9)) { [self] in
                let alive = ids.filter { network.nodes[$0] != nil }
                guard let coordinator = alive.randomElement(using: &world.random) else { return }
                let node = network.nodes[coordinator]!
                let key = key(Int.random(in: 0..<options.keys, using: &world.random))
                if world.chance(0.4) {
                    reads += 1
                    let startedAt = world.nowMillis
                    node.read(keyspace: "sim", key: Array(key.utf8), level: options.readLevel, timeoutMillis: 200) {
                        [self] result in
                        guard case .success(let outcome) = result else { return }
                        completedReads.append(CompletedRead(key: key, startedAt: startedAt, object: outcome.object))
                        if let object = outcome.object { clientContexts[key] = object.clock }
                    }
                } else {
                    let value = Array("\(seed)-\(operation)".utf8)
                    let context = world.chance(0.6) ? clientContexts[key] : nil
                    if let context { sentContexts[key, default: []].append(context) }
                    let write = ClientWrite(
                        keyspace: "sim", key: Array(key.utf8), value: world.chance(0.1) ? nil : value,
                        contentType: nil, context: context, level: options.writeLevel, timeoutMillis: 200)
                    let invokedAt = world.nowMillis
                    if write.value == nil { deletesInvoked[key, default: []].append(invokedAt) }
                    node.write(write) { [self] result in
                        switch result {
                        case .success(let outcome):
                            acknowledged.append(
                                AcknowledgedWrite(
                                    key: key, value: write.value, outcome: outcome, context: context,
                                    invokedAt: invokedAt, acknowledgedAt: world.nowMillis))
                        case .failure:
                            failedWrites += 1
                        }
                    }
                }
            }
        }
        if options.faults { scheduleFaults(from: start, to: end) }
        if options.ringChanges { scheduleRingChanges(from: start, to: end) }
        world.run(untilMillis: end + 300)
        // Heal everything, restart every node, let the moves end and hints, timers and
        // flushes settle.
        network.cut = []
        network.dropProbability = 0
        network.duplicateProbability = 0
        for id in ids { restart(id) }
        let movesDeadline = world.nowMillis + 30_000
        while world.nowMillis < movesDeadline,
            !ring.moves.isEmpty || directory.lowestRunningVersion() != ring.version
        {
            world.run(untilMillis: world.nowMillis + 50)
        }
        unfinishedMoves = ring.moves.count
        if !ring.moves.isEmpty { log.append("\(world.nowMillis): moves still under way: \(ring.moves)") }
        world.run(untilMillis: world.nowMillis + 1000)
        copiesBeforeRepair = ownersCopies()
        let reader = network.nodes[ring.nodes.first { network.nodes[$0] != nil }!]!
        for index in 0..<options.keys {
            let key = key(index)
            reader.read(keyspace: "sim", key: Array(key.utf8), level: .all, timeoutMillis: 1000) { [self] result in
                if case .success(let outcome) = result { finalObjects[key] = outcome.object }
            }
        }
        world.run(untilMillis: world.nowMillis + 1500)
        for id in ids { hintsLeft[id] = hintStorages[id]!.keys(withPrefix: []).count }
        ownerCopies = ownersCopies()
    }

    /// What every owner of every key holds now.
    private func ownersCopies() -> [String: [NodeID: ReplicaObject?]] {
        var copies: [String: [NodeID: ReplicaObject?]] = [:]
        for index in 0..<options.keys {
            let key = key(index)
            let owners = ring.owners(
                ring.partition(keyspace: keyspace.name, key: try! Key(validating: Array(key.utf8))),
                replicationFactor: options.replicationFactor)
            for owner in owners {
                guard let node = network.nodes[owner] else {
                    copies[key, default: [:]][owner] = .some(nil)  // a dead owner holds nothing
                    continue
                }
                // A read of a replica answers synchronously.
                let answer = Answer()
                node.handle(.read(keyspace: "sim", key: Array(key.utf8))) { answer.reply = $0 }
                if case .object(let object) = answer.reply { copies[key, default: [:]][owner] = object }
            }
        }
        return copies
    }

    /// What a move promises when it ends: every acknowledged write an outgoing owner holds
    /// is held by an incoming one too, unless it was acknowledged after the draining phase
    /// began (the new owners counted it then, not the outgoing ones). Nodes down at that
    /// moment are not asked.
    private func checkMoveEnd(_ old: Ring, _ new: Ring) {
        for move in new.moves where move.phase == .draining && old.move(PartitionID(move.partition))?.phase == .copying
        {
            drainingSince[move.partition] = world.nowMillis
        }
        for move in old.moves where new.move(PartitionID(move.partition)) == nil {
            let n = options.replicationFactor
            let (incoming, outgoing) = (move.incoming(replicationFactor: n), move.outgoing(replicationFactor: n))
            let since = drainingSince[move.partition] ?? 0
            for index in 0..<options.keys {
                let key = key(index)
                guard
                    ring.partition(keyspace: keyspace.name, key: try! Key(validating: Array(key.utf8))).index
                        == move.partition
                else { continue }
                let copies = { (nodes: [NodeID]) in nodes.compactMap { self.copy(of: key, on: $0) } }
                let (theirs, ours) = (copies(outgoing), copies(incoming))
                guard ours.count == incoming.count else { continue }
                for write in acknowledged where write.key == key && write.acknowledgedAt < since {
                    guard theirs.contains(where: { missing(write, from: $0) == nil }),
                        !ours.contains(where: { missing(write, from: $0) == nil })
                    else { continue }
                    movesLosingCopies.append(
                        "\(key): the move of partition \(move.partition) to \(incoming) ended without \(write.outcome.version), which \(outgoing) held"
                    )
                }
            }
        }
    }

    /// A running node's copy of `key` (nil inside when it holds none), or nil when it is down.
    private func copy(of key: String, on id: NodeID) -> ReplicaObject?? {
        guard let node = network.nodes[id] else { return nil }
        let answer = Answer()
        node.handle(.read(keyspace: "sim", key: Array(key.utf8))) { answer.reply = $0 }
        guard case .object(let object) = answer.reply else { return nil }
        return .some(object)
    }

    /// One or two ring changes at random moments: a spare node joins, a member leaves, or
    /// a spare replaces a member (in strict runs, half the time one that died for good).
    /// Each waits for the moves of the one before.
    private func scheduleRingChanges(from start: UInt64, to end: UInt64) {
        for _ in 0..<Int(world.between(1...2)) {
            world.schedule(afterMillis: world.between(0...(end - start) / 2)) { [self] in commitChange(before: end) }
        }
    }

    private func commitChange(before end: UInt64) {
        guard world.nowMillis < end else { return }
        guard ring.moves.isEmpty else {
            world.schedule(afterMillis: 50) { [self] in commitChange(before: end) }
            return
        }
        let members = ring.nodes
        let spares = ids.filter { !members.contains($0) && !dead.contains($0) }
        var next = members
        var change: String
        switch Int(world.between(0...2)) {
        case 0 where !spares.isEmpty:
            next.append(spares[0])
            change = "join \(spares[0])"
        case 1 where members.count > options.replicationFactor:
            let leaving = members.randomElement(using: &world.random)!
            next.removeAll { $0 == leaving }
            change = "leave \(leaving)"
        default:
            guard let spare = spares.first else { return }
            let replaced = members.randomElement(using: &world.random)!
            next = members.map { $0 == replaced ? spare : $0 }
            change = "replace \(replaced) \(spare)"
            // A dead node takes its copies with it: only when every acknowledged write has another.
            if !options.sloppy, options.writeLevel.required(replicas: options.replicationFactor) >= 2, world.chance(0.5)
            {
                crash(replaced)
                dead.insert(replaced)
                change += " (dead)"
            }
        }
        let claim = RingClaim.claim(from: ring.assignment(replicas: options.replicationFactor), nodes: next)
        guard let committed = try? ring.committing(claim, members: next) else { return }
        log.append("\(world.nowMillis): commit \(change): ring \(committed.version), \(committed.moves.count) moves")
        ringChanges.append(change)
        directory.store(committed)
    }

    private func scheduleFaults(from start: UInt64, to end: UInt64) {
        var at = start + world.between(20...80)
        while at < end {
            let kind = Int.random(in: 0..<4, using: &world.random)
            let duration = world.between(30...200)
            world.schedule(afterMillis: at - world.nowMillis) { [self] in
                switch kind {
                case 0:
                    let victim = ids.randomElement(using: &world.random)!
                    crash(victim)
                    world.schedule(afterMillis: duration) { [self] in restart(victim) }
                case 1:
                    let shuffled = ids.shuffled(using: &world.random)
                    let minority = Set(shuffled.prefix(Int.random(in: 1...(ids.count / 2), using: &world.random)))
                    log.append("\(world.nowMillis): partition \(minority.sorted()) from the rest")
                    for a in ids {
                        for b in ids where minority.contains(a) != minority.contains(b) { network.cut.insert([a, b]) }
                    }
                    world.schedule(afterMillis: duration) { [self] in network.cut = [] }
                case 2:
                    let a = ids.randomElement(using: &world.random)!
                    let b = ids.randomElement(using: &world.random)!
                    log.append("\(world.nowMillis): one-way cut \(a) -> \(b)")
                    network.cut.insert([a, b])
                    world.schedule(afterMillis: duration) { [self] in network.cut.remove([a, b]) }
                default:
                    log.append("\(world.nowMillis): lossy network")
                    network.dropProbability = 0.1
                    network.duplicateProbability = 0.1
                    world.schedule(afterMillis: duration) { [self] in
                        network.dropProbability = 0
                        network.duplicateProbability = 0
                    }
                }
            }
            at += duration + world.between(20...120)
        }
    }
}

/// A peer reply caught from a synchronous handler. Single-threaded.
private final class Answer: @unchecked Sendable {
    var reply: PeerReply?
}
