import Logging
import Replication
import RingstoreCore
import RingstoreNode
import ServiceLifecycle

/// Hosts a cluster member's leader-mode partition replicas (DESIGN section 6): for every
/// partition of a leader-mode keyspace that the ring gives this node, it opens the
/// partition's `PartitionLog` in the node's store and a `LeaderReplica` over it, and
/// runs the replica's loop; it runs the node's `LeadershipLease` and its
/// `PartitionLeadership` rounds. New keyspaces are taken up within half a second.
public final class LeaderHosting: Service {
    let node: Node
    let storage: any ReplicaStorage
    let network: any PeerNetwork
    let election: PartitionElection
    let lease: LeadershipLease
    let lagMillis: UInt64
    let logger: Logger
    let nowMillis: @Sendable () -> UInt64

    /// `lagMillis`: how long a follower may lag before the leader removes it from the ISR.
    public init(
        node: Node, storage: any ReplicaStorage, network: any PeerNetwork, etcd: EtcdClient,
        metadata: ClusterMetadata, leaseSeconds: Int = 2, lagMillis: UInt64 = 2000, logger: Logger
    ) {
        let start = ContinuousClock.now
        let nowMillis: @Sendable () -> UInt64 = { UInt64((ContinuousClock.now - start) / .milliseconds(1)) + 1 }
        self.node = node
        self.storage = storage
        self.network = network
        self.election = PartitionElection(etcd: etcd, metadata: metadata)
        self.lease = LeadershipLease(etcd: etcd, ttlSeconds: leaseSeconds, nowMillis: nowMillis)
        self.lagMillis = lagMillis
        self.logger = logger
        self.nowMillis = nowMillis
    }

    /// The partitions of leader-mode keyspaces this node replicates.
    func hosted() -> [PartitionLeadership.Hosted] {
        let ring = node.ring
        var hosted: [PartitionLeadership.Hosted] = []
        for keyspace in node.keyspaces() where keyspace.mode == .leader {
            for index in 0..<ring.partitionCount {
                let owners = ring.owners(PartitionID(index), replicationFactor: keyspace.replicationFactor)
                if owners.contains(node.id) {
                    hosted.append(.init(keyspace: keyspace.name, partition: index, replicas: owners))
                }
            }
        }
        return hosted
    }

    public func run() async throws {
        let node = node
        let leadership = PartitionLeadership(
            me: node.id, election: election, lease: lease, replicas: node.leaderReplicas, patienceRounds: 3,
            keyspaces: { node.keyspaces().filter { $0.mode == .leader }.map(\.name) },
            hosted: { [weak self] in self?.hosted() ?? [] })
        let transport = NetworkLeaderTransport(network: network)
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.lease.run() }
                group.addTask { await leadership.run() }
                while !Task.isCancelled {
                    for replica in self.openNewReplicas() {
                        group.addTask { await replica.run(transport: transport) }
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    /// Opens the replicas of hosted partitions that have none yet.
    private func openNewReplicas() -> [LeaderReplica] {
        var opened: [LeaderReplica] = []
        for partition in hosted()
        where node.leaderReplicas.replica(keyspace: partition.keyspace.name, partition: partition.partition) == nil {
            guard let keyspace = try? node.keyspace(named: partition.keyspace.name) else { continue }
            do {
                let log = try PartitionLog(
                    storage: storage, keyspace: partition.keyspace, partition: partition.partition)
                let replica = try LeaderReplica(
                    me: node.id, keyspace: partition.keyspace, partition: partition.partition,
                    replicas: partition.replicas, minInSync: keyspace.minInSync ?? 1, lagMillis: lagMillis, log: log,
                    coordination: election, nowMillis: nowMillis)
                node.leaderReplicas.register(replica)
                opened.append(replica)
            } catch {
                logger.error(
                    "opening a leader-mode partition failed",
                    metadata: [
                        "keyspace": "\(partition.keyspace)", "partition": "\(partition.partition)", "error": "\(error)",
                    ])
            }
        }
        if !opened.isEmpty { logger.info("hosting leader-mode partitions", metadata: ["opened": "\(opened.count)"]) }
        return opened
    }
}
