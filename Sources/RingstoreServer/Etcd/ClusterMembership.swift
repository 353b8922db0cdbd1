import Logging
import NIOCore
import RingstoreCore
import RingstoreNode
import ServiceLifecycle
import Synchronization

/// A node's membership of a cluster whose metadata lives in etcd: it registers the
/// node's addresses under a lease and keeps the lease alive, watches the cluster's
/// prefix, and on every change (and every 5 seconds regardless) reads the ring, the
/// registrations and the keyspace catalog and installs them in the node and its peer
/// client. While etcd is unreachable the node goes on with what it
/// cached: leaderless reads and writes keep working, only metadata changes wait.
public final class ClusterMembership: Service, Sendable {
    let etcd: EtcdClient
    let metadata: ClusterMetadata
    let node: Node
    let peers: PeerClient
    /// Where the node listens; its ring version is added as it changes.
    private let registration: Mutex<ClusterMetadata.Registration>
    let logger: Logger
    let watch: EtcdWatch?
    /// The registrations last read, kept on disk for a restart while etcd is unreachable.
    let peerCache: PeerAddressCache
    /// Set by the watch when something changed; the loop then reads at once.
    private let changed = ChangeFlag()
    /// Nodes whose registration was present at the last successful read.
    private let alive = Mutex<Set<NodeID>>([])
    /// The ring version each registered node reported at the last read.
    private let versions = Mutex<[NodeID: Int]>([:])
    private let pendingRead = Mutex<Task<Void, Never>?>(nil)
    private let leaseTTLSeconds = 5
    private let lease = Mutex<Int64?>(nil)

    init(
        etcd: EtcdClient, metadata: ClusterMetadata, node: Node, peers: PeerClient,
        registration: ClusterMetadata.Registration, peerCachePath: String, group: any EventLoopGroup,
        logger: Logger
    ) {
        self.etcd = etcd
        peerCache = PeerAddressCache(path: peerCachePath, logger: logger)
        let changed = changed
        defer { peers.onUnknownPeer = { [weak self] in await self?.refreshNow() } }
        watch = EtcdWatch(
            host: etcd.http.host, port: etcd.http.port, prefix: metadata.root, group: group, logger: logger
        ) { changed.set() }
        self.metadata = metadata
        self.node = node
        self.peers = peers
        self.registration = Mutex(registration)
        self.logger = logger
    }

    /// The nodes etcd saw registered at the last read.
    public var registeredNodes: Set<NodeID> { alive.withLock { $0 } }

    /// Reads the ring once; the server waits for it before serving when nothing is cached.
    func loadRing() async throws -> Ring {
        guard let entry = try await etcd.range(metadata.ringKey).first,
            let document = ClusterMetadata.decode(ClusterMetadata.RingDocument.self, entry.value)
        else {
            throw RingstoreError(
                .unavailable,
                "cluster '\(metadata.cluster)' has no ring in etcd; run `ringstore cluster init` first")
        }
        return try document.ring()
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            if let watch { group.addTask { await watch.run() } }
            await maintain()
            group.cancelAll()
        }
    }

    /// Registers the node and reads the metadata once: the server does this before it
    /// listens, so a node that answers HTTP is registered and knows its peers.
    func join() async throws {
        try await register()
        try await refresh()
    }

    private func register() async throws {
        let granted = try await etcd.grantLease(ttlSeconds: leaseTTLSeconds)
        let current = registration.withLock { registration in
            registration.ringVersion = node.ring.version
            return registration
        }
        try await etcd.put(metadata.nodesPrefix + node.id.name, ClusterMetadata.encode(current), lease: granted)
        lease.withLock { $0 = granted }
        logger.info("registered in etcd", metadata: ["lease": "\(granted)"])
    }

    /// Registration, keep-alive, and reading the metadata when it changed.
    private func maintain() async {
        var lastKeepAlive = ContinuousClock.now
        var lastRead = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if let current = lease.withLock({ $0 }) {
                    if ContinuousClock.now - lastKeepAlive >= .seconds(1) {
                        if try await etcd.keepAlive(current) {
                            lastKeepAlive = .now
                        } else {
                            logger.warning("the etcd lease expired; registering again")
                            lease.withLock { $0 = nil }
                            continue
                        }
                    }
                } else {
                    try await register()
                    lastKeepAlive = .now
                }
                let due = changed.take()
                if due || ContinuousClock.now - lastRead >= .seconds(5) {
                    do {
                        try await refresh()
                        lastRead = .now
                    } catch {
                        changed.set()
                        throw error
                    }
                }
            } catch {
                logger.warning("etcd unreachable; serving from the cached ring", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // Stopping: the registration goes now rather than when the lease runs out, so the
        // cluster sees this node down at once.
        if let current = lease.withLock({ $0 }) { try? await etcd.revoke(current) }
    }

    /// Reads the metadata and installs it.
    func refresh() async throws {
        let ring = try await loadRing()
        node.install(ring: ring)
        try await reportRingVersion()
        var registrations: [String: ClusterMetadata.Registration] = [:]
        for entry in try await etcd.range(metadata.nodesPrefix, prefix: true) {
            let id = String(entry.key.dropFirst(metadata.nodesPrefix.count))
            if let registration = ClusterMetadata.decode(ClusterMetadata.Registration.self, entry.value) {
                registrations[id] = registration
            }
        }
        let registered = Set(registrations.keys.map(NodeID.init))
        install(registrations)
        peerCache.save(registrations)
        logger.debug("cluster metadata read", metadata: ["registered": "\(registered.map(\.name).sorted())"])
        alive.withLock { $0 = registered }
        versions.withLock { versions in
            versions = Dictionary(
                uniqueKeysWithValues: registrations.map { (NodeID($0.key), $0.value.ringVersion ?? 0) })
        }
        var keyspaces: [Keyspace] = []
        for entry in try await etcd.range(metadata.keyspacesPrefix, prefix: true) {
            if let keyspace = ClusterMetadata.decode(Keyspace.self, entry.value) { keyspaces.append(keyspace) }
        }
        node.install(keyspaces: keyspaces)
    }

    /// Puts the registration again when the node installed another ring version since
    /// it last did, so that the cluster knows which rings its nodes run.
    private func reportRingVersion() async throws {
        let version = node.ring.version
        guard let current = lease.withLock({ $0 }) else { return }
        let changed = registration.withLock { registration -> ClusterMetadata.Registration? in
            guard registration.ringVersion != version else { return nil }
            registration.ringVersion = version
            return registration
        }
        guard let changed else { return }
        try await etcd.put(metadata.nodesPrefix + node.id.name, ClusterMetadata.encode(changed), lease: current)
    }

    /// Points the peer client at the registered addresses (other nodes only).
    private func install(_ registrations: [String: ClusterMetadata.Registration]) {
        var addresses: [NodeID: (host: String, port: Int)] = [:]
        for (id, registration) in registrations where id != node.id.name {
            if let address = ClusterMetadata.address(registration.peer) { addresses[NodeID(id)] = address }
        }
        peers.update(addresses: addresses)
    }

    /// Starts from the peer addresses cached at the last read (etcd is unreachable).
    func installCachedPeers() {
        let cached = peerCache.load()
        install(cached)
        logger.info("using cached peer addresses", metadata: ["peers": "\(cached.keys.sorted())"])
    }

    /// Reads the metadata now: a request named a keyspace or a peer this node does not
    /// know yet. Concurrent callers share one read; errors leave the cache as it was.
    func refreshNow() async {
        let task = pendingRead.withLock { pending in
            if let pending { return pending }
            let task = Task { [self] in
                defer { pendingRead.withLock { $0 = nil } }
                do {
                    try await refresh()
                } catch {
                    logger.debug("reading the cluster metadata failed", metadata: ["error": "\(error)"])
                }
            }
            pending = task
            return task
        }
        await task.value
    }

    /// Creates a keyspace in etcd (create-if-absent), then installs it here; an
    /// identical existing one is confirmed, a different one is a conflict.
    func createKeyspace(_ keyspace: Keyspace) async throws(RingstoreError) -> Bool {
        try keyspace.validate(nodeCount: node.nodeCount)
        let ring = node.ring
        if keyspace.mode == .leader, !ring.moves.isEmpty {
            throw RingstoreError(
                .unavailable,
                "the ring moves \(ring.moves.count) partitions (ring version \(ring.version)); leader-mode keyspaces can be created once the moves end"
            )
        }
        if ring.isAssigned,
            let width = (0..<ring.partitionCount).map({ ring.explicitOwners(PartitionID($0)).count }).min(),
            keyspace.replicationFactor > width
        {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "the ring places \(width) replicas of each partition; a keyspace may have at most \(width)")
        }
        let key = metadata.keyspacesPrefix + keyspace.name.name
        do {
            if try await etcd.create(key, ClusterMetadata.encode(keyspace)) {
                node.install(keyspaces: [keyspace])
                return true
            }
            guard let existing = try await etcd.range(key).first,
                let stored = ClusterMetadata.decode(Keyspace.self, existing.value)
            else { throw RingstoreError(.unavailable, "keyspace '\(keyspace.name)' changed while it was created") }
            guard stored == keyspace else {
                throw RingstoreError(.keyspaceExists, "keyspace '\(keyspace.name)' exists with another definition")
            }
            node.install(keyspaces: [stored])
            return false
        } catch let error as RingstoreError {
            throw error
        } catch {
            throw RingstoreError(.unavailable, "etcd is unreachable; keyspaces cannot be created now: \(error)")
        }
    }
}

/// A flag the etcd watch raises and the membership loop takes down.
final class ChangeFlag: Sendable {
    private let raised = Atomic(true)

    func set() { raised.store(true, ordering: .releasing) }

    /// Whether it was raised; lowers it.
    func take() -> Bool { raised.exchange(false, ordering: .acquiringAndReleasing) }
}

/// The ring in etcd, changed by compare-and-swap, for `RingMoves`.
extension ClusterMembership: RingDirectory {
    public func replace(
        version: Int, with ring: Ring, completion: @escaping @Sendable (_ stored: Bool, _ current: Ring?) -> Void
    ) {
        Task { [self] in
            do {
                guard let entry = try await etcd.range(metadata.ringKey).first,
                    let document = ClusterMetadata.decode(ClusterMetadata.RingDocument.self, entry.value)
                else { return completion(false, nil) }
                let stored = try document.ring()
                guard stored.version == version else { return completion(false, stored) }
                let (replaced, _) = try await etcd.transaction(
                    [.modRevision(metadata.ringKey, entry.modRevision)],
                    puts: [(metadata.ringKey, ClusterMetadata.encode(ClusterMetadata.RingDocument(ring: ring)), nil)])
                completion(replaced, replaced ? nil : try await loadRing())
            } catch {
                logger.warning("changing the ring in etcd failed", metadata: ["error": "\(error)"])
                completion(false, nil)
            }
        }
    }

    /// The lowest ring version the registered nodes reported at the last read (a node
    /// that reported none counts as 0); nil before the first read.
    public func lowestRunningVersion() -> Int? { versions.withLock { $0.values.min() } }

    /// The nodes registered at the last read; nil before the first.
    public func runningNodes() -> Set<NodeID>? { versions.withLock { $0.isEmpty ? nil : Set($0.keys) } }
}
