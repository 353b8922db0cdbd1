import Logging
import RingstoreCore
import RingstoreNode
import ServiceLifecycle
import Synchronization

/// A node's membership of a cluster whose metadata lives in etcd: it registers the
/// node's addresses under a lease and keeps the lease alive, and every second reads the
/// ring, the registrations and the keyspace catalog and installs what changed in the
/// node and its peer client. While etcd is unreachable the node goes on with what it
/// cached: leaderless reads and writes keep working, only metadata changes wait.
public final class ClusterMembership: Service, Sendable {
    let etcd: EtcdClient
    let metadata: ClusterMetadata
    let node: Node
    let peers: PeerClient
    let registration: ClusterMetadata.Registration
    let logger: Logger
    /// Nodes whose registration was present at the last successful read.
    private let alive = Mutex<Set<NodeID>>([])
    private let refreshInterval: Duration = .seconds(1)
    private let leaseTTLSeconds = 5

    init(
        etcd: EtcdClient, metadata: ClusterMetadata, node: Node, peers: PeerClient,
        registration: ClusterMetadata.Registration, logger: Logger
    ) {
        self.etcd = etcd
        self.metadata = metadata
        self.node = node
        self.peers = peers
        self.registration = registration
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
        var lease: Int64?
        var lastKeepAlive = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if lease == nil {
                    let granted = try await etcd.grantLease(ttlSeconds: leaseTTLSeconds)
                    try await etcd.put(
                        metadata.nodesPrefix + node.id.name, ClusterMetadata.encode(registration), lease: granted)
                    lease = granted
                    lastKeepAlive = .now
                    logger.info("registered in etcd", metadata: ["lease": "\(granted)"])
                } else if let current = lease, ContinuousClock.now - lastKeepAlive >= .seconds(1) {
                    if try await etcd.keepAlive(current) {
                        lastKeepAlive = .now
                    } else {
                        logger.warning("the etcd lease expired; registering again")
                        lease = nil
                        continue
                    }
                }
                try await refresh()
            } catch {
                logger.warning("etcd unreachable; serving from the cached ring", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: refreshInterval)
        }
    }

    /// Reads the metadata and installs it.
    func refresh() async throws {
        let ring = try await loadRing()
        node.install(ring: ring)
        var addresses: [NodeID: (host: String, port: Int)] = [:]
        var registered: Set<NodeID> = []
        for entry in try await etcd.range(metadata.nodesPrefix, prefix: true) {
            let id = NodeID(String(entry.key.dropFirst(metadata.nodesPrefix.count)))
            guard let registration = ClusterMetadata.decode(ClusterMetadata.Registration.self, entry.value),
                let address = ClusterMetadata.address(registration.peer)
            else { continue }
            registered.insert(id)
            if id != node.id { addresses[id] = address }
        }
        peers.update(addresses: addresses)
        alive.withLock { $0 = registered }
        var keyspaces: [Keyspace] = []
        for entry in try await etcd.range(metadata.keyspacesPrefix, prefix: true) {
            if let keyspace = ClusterMetadata.decode(Keyspace.self, entry.value) { keyspaces.append(keyspace) }
        }
        node.install(keyspaces: keyspaces)
    }

    /// Creates a keyspace in etcd (create-if-absent), then installs it here; an
    /// identical existing one is confirmed, a different one is a conflict.
    func createKeyspace(_ keyspace: Keyspace) async throws(RingstoreError) -> Bool {
        try keyspace.validate(nodeCount: node.nodeCount)
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
