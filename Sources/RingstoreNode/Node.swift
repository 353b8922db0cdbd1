import Logging
import Replication
import RingstoreCore
import Synchronization

/// One Ringstore node composed synchronously (DESIGN section 1): its keyspace catalog,
/// its view of the ring, its replica objects over its storage, and the coordination of
/// client reads and writes through the pure state machines of `Replication`.
///
/// The node does no I/O of its own beyond its `ReplicaStorage`: peers, timers and the
/// wall clock come from its `NodeEnvironment`, so the simulator runs the same code as
/// the server. Every key of every keyspace lives in one storage, so concurrent writes to
/// any keyspace share a group commit.
public final class Node: Sendable {
    public let id: NodeID
    /// The name this incarnation of the node mints dots with: the node id and the start
    /// time. A node that crashed may have lost dots it minted but had not yet made
    /// durable while peers kept them; minting under a new name after every start means
    /// it can never mint one of those dots again for another value (Riak's vnode ids do
    /// the same).
    public let actor: NodeID
    /// The highest dot counter this incarnation minted, for any key. Every new dot is
    /// above it, so a key that was purged and written again never gets a dot it had
    /// before: a client context from before the purge cannot cover a newer value.
    let lastMinted = MintedCounter()
    public let limits: Limits
    let logger: Logger
    let environment: NodeEnvironment
    let objects: ReplicaStore
    /// Hints kept for other nodes (sloppy quorum); nil on a node that keeps none.
    let handoff: HintedHandoff?
    /// Set by `stop()`: background work (hint replay) ends.
    private let stopped = Atomic<Bool>(false)
    /// How long a request waits for replicas when it names no timeout.
    public let defaultTimeoutMillis: UInt32
    /// The leader-mode partition replicas this node hosts (peers' fetches go to them).
    public let leaderReplicas = LeaderReplicas()
    /// What this node's leader-mode replicas cut from their logs lately (failover losses).
    public let leaderLosses = LeaderLosses()
    private let clock = Mutex(HybridLogicalClock())
    /// Keyspaces by name.
    private let catalog: Mutex<[String: Keyspace]>
    private let ringState: SharedRing
    /// Hash trees of the partition replicas this node holds, and their exchanges.
    let antiEntropy: AntiEntropy
    /// Deleted keys that may be purged once their grace period passed.
    let tombstones: TombstoneCandidates
    /// The pace of the partition copies this node receives.
    public let transferBudget: TransferBudget
    /// Names whose creation is being made durable: a second creation waits for none of
    /// them and gets a conflict instead of racing the first.
    private let creating = Mutex<Set<String>>([])

    /// Opens the node on `storage` with the catalog and ring it cached there. `ring`
    /// replaces the cached ring; with neither, the node is a ring of its own. With
    /// `hintStorage` the node keeps hints for unreachable owners there and replays them
    /// in the background, as `handoff` says, until `stop()`.
    public init(
        id: NodeID, storage: any ReplicaStorage, ring: Ring? = nil, limits: Limits = .default, logger: Logger,
        environment: NodeEnvironment, defaultTimeoutMillis: UInt32 = 5000, hintStorage: (any ReplicaStorage)? = nil,
        handoff settings: HandoffSettings = HandoffSettings(),
        antiEntropy antiEntropySettings: AntiEntropySettings = AntiEntropySettings(),
        tombstones tombstoneSettings: TombstoneSettings = TombstoneSettings(), transferBytesPerSecond: Int = 0
    ) throws(RingstoreError) {
        transferBudget = TransferBudget(bytesPerSecond: transferBytesPerSecond)
        handoff = hintStorage.map { HintedHandoff(storage: $0, settings: settings) }
        self.id = id
        actor = NodeID("\(id.name).\(environment.wallMillis())")
        self.limits = limits
        self.logger = logger
        self.environment = environment
        self.defaultTimeoutMillis = defaultTimeoutMillis
        var loaded: [String: Keyspace] = [:]
        for storageKey in storage.keys(withPrefix: StorageKey.catalogPrefix) {
            guard let value = try storage.read(storageKey) else { continue }
            let keyspace = try KeyspaceCodec.decode(value)
            loaded[keyspace.name.name] = keyspace
        }
        catalog = Mutex(loaded)
        var cachedRing: Ring?
        if ring == nil, let bytes = try storage.read(StorageKey.ring) {
            cachedRing = try RingCodec.decode(bytes)
        }
        let initialRing: Ring
        if let known = ring ?? cachedRing {
            initialRing = known
        } else {
            initialRing = try Ring(nodes: [id])
        }
        let sharedRing = SharedRing(initialRing)
        let antiEntropy = AntiEntropy(settings: antiEntropySettings)
        let tombstones = TombstoneCandidates(settings: tombstoneSettings)
        ringState = sharedRing
        self.antiEntropy = antiEntropy
        self.tombstones = tombstones
        objects = ReplicaStore(storage: storage) { key, object, bytes in
            antiEntropy.changed(key, digest: bytes.map { StableHash.xxHash64($0) }, ring: sharedRing.value)
            tombstones.changed(key, to: object)
        }
        antiEntropy.rebuild(from: objects, ring: initialRing) { key, object in tombstones.changed(key, to: object) }
        if let ring { persist(StorageKey.ring, RingCodec.encode(ring)) }
        scheduleHintReplay()
        scheduleAntiEntropy()
        scheduleTombstoneSweep()
    }

    /// Ends the node's background work; requests in flight finish on their own.
    public func stop() { stopped.store(true, ordering: .relaxed) }

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Hints this node keeps, per owner, as counted at the last replay round.
    public var hintBacklog: [NodeID: Int] { handoff?.backlog ?? [:] }

    private func scheduleHintReplay() {
        guard let handoff, !stopped.load(ordering: .relaxed) else { return }
        _ = environment.timers.after(millis: handoff.settings.intervalMillis) { [weak self] in
            guard let self, !stopped.load(ordering: .relaxed) else { return }
            handoff.replayRound(environment: environment)
            scheduleHintReplay()
        }
    }

    /// Whether the node knows a ring given by a cluster (passed in, installed, or cached),
    /// rather than the ring of its own it starts with.
    public var hasClusterRing: Bool { ringState.value.nodes != [id] }

    /// The ring this node routes by.
    public var ring: Ring { ringState.value }

    public var nodeCount: Int { ring.nodes.count }

    /// Replaces the ring (a cluster's metadata changed) and caches it in storage; a ring
    /// older than the installed one (a slow read racing a newer one) is ignored.
    public func install(ring: Ring) {
        guard let previous = ringState.replace(with: ring) else { return }
        persist(StorageKey.ring, RingCodec.encode(ring))
        // The hash trees are per partition, which only the partition count decides: a new
        // version of the same ring (every step of a move) leaves them as they are.
        if previous.partitionCount != ring.partitionCount { antiEntropy.rebuild(from: objects, ring: ring) }
    }

    // MARK: Keyspaces

    public func keyspaces() -> [Keyspace] {
        catalog.withLock { Array($0.values) }.sorted { $0.name.name < $1.name.name }
    }

    public func keyspace(named name: String) throws(RingstoreError) -> Keyspace {
        // Fast path: a name in the catalog was validated when it was created.
        if let known = catalog.withLock({ $0[name] }) { return known }
        let validName = try KeyspaceName(validating: name, limits: limits)
        guard let keyspace = catalog.withLock({ $0[validName.name] }) else {
            throw RingstoreError(
                .unknownKeyspace, "keyspace '\(name)' does not exist; create it with PUT /v1/keyspaces/\(name)")
        }
        return keyspace
    }

    /// Adds or replaces keyspaces that the cluster's metadata defines, caching them in
    /// storage so that a restart without etcd still knows them.
    public func install(keyspaces: [Keyspace]) {
        for keyspace in keyspaces {
            let changed = catalog.withLock { catalog in
                defer { catalog[keyspace.name.name] = keyspace }
                return catalog[keyspace.name.name] != keyspace
            }
            if changed { persist(StorageKey.catalog(keyspace.name), KeyspaceCodec.encode(keyspace)) }
        }
    }

    /// Creates a keyspace on a node that keeps its own catalog (a cluster of one), or
    /// confirms an identical one. Returns whether it was created.
    public func createKeyspace(_ keyspace: Keyspace) async throws(RingstoreError) -> Bool {
        try keyspace.validate(nodeCount: nodeCount)
        guard keyspace.mode == .leaderless else {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "mode 'leader' elects its leaders through etcd: it needs a cluster (ringstore serve --etcd ...)")
        }
        let name = keyspace.name.name
        /// Whether an identical keyspace exists; a different one is a conflict.
        func exists() throws(RingstoreError) -> Bool {
            guard let existing = catalog.withLock({ $0[name] }) else { return false }
            guard existing == keyspace else {
                throw RingstoreError(.keyspaceExists, "keyspace '\(keyspace.name)' exists with another definition")
            }
            return true
        }
        if try exists() { return false }
        guard creating.withLock({ $0.insert(name).inserted }) else {
            throw RingstoreError(.keyspaceExists, "keyspace '\(keyspace.name)' is being created by another request")
        }
        defer { creating.withLock { _ = $0.remove(name) } }
        // Checked again now that this request holds the name: a creation may have just finished.
        if try exists() { return false }
        let error = await withCheckedContinuation { continuation in
            objects.storage.write(StorageKey.catalog(keyspace.name), KeyspaceCodec.encode(keyspace)) {
                continuation.resume(returning: $0)
            }
        }
        if let error {
            logger.error("storing a keyspace failed", metadata: ["error": "\(error)"])
            throw error
        }
        catalog.withLock { $0[name] = keyspace }
        logger.info("keyspace created", metadata: ["keyspace": "\(keyspace.name)"])
        return true
    }

    /// Creates the `default` keyspace on a node's first start.
    public func createDefaultKeyspaceIfMissing() async throws(RingstoreError) {
        guard catalog.withLock({ $0[KeyspaceName.default.name] }) == nil else { return }
        _ = try await createKeyspace(
            KeyspaceRequest().keyspace(named: .default, nodeCount: nodeCount))
    }

    // MARK: Addressing

    /// Where a key lives: its keyspace, its storage key, its partition and its N owners.
    struct Placement {
        var keyspace: Keyspace
        var storageKey: [UInt8]
        var partition: PartitionID
        var owners: [NodeID]
        /// Pending or outgoing owners of a partition that moves: they receive writes, uncounted.
        var uncounted: [NodeID]
    }

    /// Only a keyspace of `mode` is addressed: leaderless replica objects and leader-mode
    /// logs are never mixed up, whatever a client or a peer sends.
    func placement(keyspace name: String, key: [UInt8], mode: ReplicationMode = .leaderless) throws(RingstoreError)
        -> Placement
    {
        let keyspace = try keyspace(named: name)
        guard keyspace.mode == mode else {
            throw RingstoreError(
                .invalidParameter,
                "keyspace '\(name)' is in \(keyspace.mode) mode; this request is for \(mode) keyspaces")
        }
        let validKey = try Key(validating: key, limits: limits)
        let ring = ring
        let partition = ring.partition(keyspace: keyspace.name, key: validKey)
        let owners = ring.owners(partition, replicationFactor: keyspace.replicationFactor)
        return Placement(
            keyspace: keyspace, storageKey: StorageKey.data(keyspace.name, validKey), partition: partition,
            owners: owners,
            uncounted: ring.uncountedOwners(partition, replicationFactor: keyspace.replicationFactor))
    }

    /// The replicas a level needs; more than N is a 503 with nothing answered.
    func required(_ level: ConsistencyLevel, _ placement: Placement) throws(RingstoreError) -> Int {
        let required = level.required(replicas: placement.owners.count)
        guard required <= placement.owners.count else {
            throw RingstoreError(
                .unavailable,
                "consistency '\(level)' needs \(required) replicas but keyspace '\(placement.keyspace.name)' has \(placement.owners.count)",
                required: required, answered: 0)
        }
        return required
    }

    // MARK: Clock

    /// A timestamp for a new write that is newer than everything in `current`.
    func nextTimestamp(after current: ReplicaObject?) -> HybridTimestamp {
        let now = environment.wallMillis()
        return clock.withLock { clock in
            if let current, !current.siblings.isEmpty {
                let latest = current.latestTimestamp
                if latest >= clock.last { return clock.observe(latest, wallMillis: now) }
            }
            return clock.tick(wallMillis: now)
        }
    }

    /// Keeps the clock close to what peers write.
    func observe(_ object: ReplicaObject) {
        let now = environment.wallMillis()
        let latest = object.latestTimestamp
        clock.withLock { clock in if latest > clock.last { _ = clock.observe(latest, wallMillis: now) } }
    }

    // MARK: Storage

    /// Writes node metadata (catalog, ring) without waiting; failures are logged.
    private func persist(_ key: [UInt8], _ value: [UInt8]) {
        let logger = logger
        objects.storage.write(key, value) { error in
            if let error { logger.error("caching cluster metadata failed", metadata: ["error": "\(error)"]) }
        }
    }
}

/// The ring a node routes by, shared with its store's change observer.
final class SharedRing: Sendable {
    private let ring: Mutex<Ring>

    init(_ ring: Ring) { self.ring = Mutex(ring) }

    var value: Ring { ring.withLock { $0 } }

    /// Installs `new` unless it is older or the same; returns the ring it replaced.
    func replace(with new: Ring) -> Ring? {
        ring.withLock { ring in
            guard new.version >= ring.version, ring != new else { return nil }
            defer { ring = new }
            return ring
        }
    }
}

/// The highest counter minted so far, raised from any thread.
final class MintedCounter: Sendable {
    private let value = Atomic<UInt64>(0)

    var current: UInt64 { value.load(ordering: .relaxed) }

    func max(_ counter: UInt64) {
        var current = value.load(ordering: .relaxed)
        while current < counter {
            let (exchanged, original) = value.compareExchange(
                expected: current, desired: counter, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
