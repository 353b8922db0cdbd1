import CoreMetrics
import Foundation
import LogStore
import Logging
import NIOCore
import NIOPosix
import Prometheus
import RingstoreCore
import RingstoreNode
import ServiceLifecycle

/// A running node: its store, the node over it, and the services that serve it.
/// `ringstore serve` and the tests build it the same way.
public struct NodeServer: Sendable {
    public let node: Node
    public let store: LogStore
    /// The hints this node keeps for unreachable peers (a cluster member only).
    public let hintStore: LogStore?
    public let http: HTTPServer
    let maintenance: MaintenanceService
    let threadPool: NIOThreadPool
    /// Set for a cluster member: its etcd membership and its peer listener.
    public let membership: ClusterMembership?
    public let peerListener: PeerListener?
    public let health: PeerHealth?
    /// A cluster member's leader-mode partition replicas and their elections.
    public let leaderHosting: LeaderHosting?
    /// A cluster member's part in the partition moves of its ring.
    public let moves: RingMoves?

    /// The services to run in one `ServiceGroup`, in start order (shutdown runs in reverse:
    /// the listener drains before maintenance stops).
    public var services: [any Service] {
        [maintenance] + [membership as (any Service)?, peerListener, health, leaderHosting].compactMap { $0 } + [http]
    }

    /// Validates the configuration, opens (recovering) the store and the node.
    public static func open(
        _ configuration: ServerConfiguration,
        registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> NodeServer {
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw RingstoreError(.invalidParameter, "invalid configuration: " + problems.joined(separator: "; "))
        }
        logger.info(
            "starting node",
            metadata: [
                "node": "\(configuration.nodeID)", "dataDirectory": "\(configuration.dataDirectory)",
                "http": "\(configuration.httpHost):\(configuration.httpPort)", "sync": "\(configuration.syncPolicy)",
                "segmentBytesMax": "\(configuration.segmentBytesMax)", "compression": "\(configuration.compression)",
                "keyBytesMax": "\(configuration.limits.keyBytesMax)",
                "valueBytesMax": "\(configuration.limits.valueBytesMax)",
            ]
        )
        let factory = PrometheusMetricsFactory(registry: registry)
        let fsyncTimer = CoreMetrics.Timer(
            label: "ringstore_store_fsync_duration_seconds", dimensions: [], factory: factory)
        var storeConfiguration = configuration.storeConfiguration
        storeConfiguration.syncObserver = { nanos in fsyncTimer.recordNanoseconds(Int64(nanos)) }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let finalStoreConfiguration = storeConfiguration
        let store = try await threadPool.runIfActive { [logger] in
            try LogStore(configuration: finalStoreConfiguration, disk: PosixDisk(), logger: logger)
        }
        let hintConfiguration = configuration.hintStoreConfiguration
        let hintStore =
            configuration.etcdEndpoint == nil
            ? nil
            : try await threadPool.runIfActive { [logger] in
                try LogStore(configuration: hintConfiguration, disk: PosixDisk(), logger: logger)
            }
        let health = configuration.etcdEndpoint == nil ? nil : PeerHealth(factory: factory)
        let peers = PeerClient(group: group, health: health, logger: logger)
        let environment = NodeEnvironment(
            wallMillis: { [offset = Int64(configuration.clockOffsetMillis)] in
                UInt64(Int64(Date().timeIntervalSince1970 * 1000) + offset)
            },
            network: configuration.etcdEndpoint == nil ? NoPeers() : peers,
            timers: EventLoopTimers(group: group), metrics: NodeMetrics(factory: factory))
        let storage = LogStoreStorage(store)
        let node: Node
        var membership: ClusterMembership?
        var peerListener: PeerListener?
        var leaderHosting: LeaderHosting?
        var moves: RingMoves?
        if let endpoint = configuration.etcdEndpoint {
            node = try Node(
                id: NodeID(configuration.nodeID), storage: storage, ring: nil, limits: configuration.limits,
                logger: logger, environment: environment, hintStorage: hintStore.map { LogStoreStorage($0) },
                handoff: configuration.handoff, antiEntropy: configuration.antiEntropy,
                tombstones: configuration.tombstones, transferBytesPerSecond: configuration.transferBytesPerSecond)
            let member = ClusterMembership(
                etcd: try EtcdClient(endpoint: endpoint), metadata: try ClusterMetadata(cluster: configuration.cluster),
                node: node, peers: peers,
                registration: .init(
                    http: "\(configuration.httpHost):\(configuration.httpPort)",
                    peer: configuration.advertisedPeer ?? "\(configuration.peerHost):\(configuration.peerPort)"),
                peerCachePath: configuration.dataDirectory + "/peers.json", group: group, logger: logger)
            // Registered and up to date before listening. Without etcd, a node that cached
            // a ring starts from it; one that never had one cannot route and waits.
            while true {
                do {
                    try await member.join()
                    break
                } catch  where node.hasClusterRing {
                    logger.warning("etcd unreachable; starting from the cached ring", metadata: ["error": "\(error)"])
                    member.installCachedPeers()
                    break
                } catch {
                    logger.warning("waiting for the cluster's ring in etcd", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: .seconds(1))
                }
            }
            if !node.ring.nodes.contains(node.id) {
                logger.notice(
                    "this node holds no partitions of the cluster; `ringstore cluster join \(node.id)` and `cluster commit` give it some",
                    metadata: ["cluster": "\(configuration.cluster)"])
            }
            membership = member
            moves = RingMoves(node: node, directory: member)
            moves?.start()
            leaderHosting = LeaderHosting(
                node: node, storage: storage, network: peers, etcd: try EtcdClient(endpoint: endpoint),
                metadata: try ClusterMetadata(cluster: configuration.cluster), timers: EventLoopTimers(group: group),
                leaseReads: configuration.leaseReads, logRetainBytes: configuration.leaderLogRetainBytes,
                logger: logger)
            peerListener = PeerListener(
                node: node, group: group, host: configuration.peerHost, port: configuration.peerPort, logger: logger,
                refreshCatalog: { await member.refreshNow() })
        } else {
            node = try Node(
                id: NodeID(configuration.nodeID), storage: storage, limits: configuration.limits, logger: logger,
                environment: environment, tombstones: configuration.tombstones)
            try await node.createDefaultKeyspaceIfMissing()
        }
        let creator: @Sendable (Keyspace) async throws(RingstoreError) -> Bool =
            if let membership {
                { keyspace throws(RingstoreError) in try await membership.createKeyspace(keyspace) }
            } else {
                { keyspace throws(RingstoreError) in try await node.createKeyspace(keyspace) }
            }
        let router = Router(
            node: node, registry: registry, readiness: Readiness(), createKeyspace: creator, membership: membership,
            health: health,
            storedBytesPerKey: {
                let statistics = store.statistics()
                guard statistics.liveKeys > 0, statistics.totalBytes >= statistics.deadBytes else { return nil }
                return Double(statistics.totalBytes - statistics.deadBytes) / Double(statistics.liveKeys)
            })
        let http = HTTPServer(
            router: router, metrics: HTTPMetrics(factory: factory), group: group, host: configuration.httpHost,
            port: configuration.httpPort, bodyBytesMax: configuration.limits.valueBytesMax, logger: logger
        )
        let maintenance = MaintenanceService(
            stores: [(store, "ringstore_store")] + (hintStore.map { [($0, "ringstore_hint_store")] } ?? []),
            threadPool: threadPool,
            compactionInterval: .seconds(configuration.compactionIntervalSeconds), factory: factory, logger: logger
        )
        return NodeServer(
            node: node, store: store, hintStore: hintStore, http: http, maintenance: maintenance,
            threadPool: threadPool,
            membership: membership, peerListener: peerListener, health: health, leaderHosting: leaderHosting,
            moves: moves)
    }

    /// Stops the node's background work and closes the stores (finishing pending writes)
    /// once the services have stopped.
    public func close() async {
        moves?.stop()
        node.stop()
        store.close()
        hintStore?.close()
        try? await threadPool.shutdownGracefully()
    }
}
