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
    let election: PartitionElection
    let lease: LeadershipLease
    let lag: Duration
    let leaseReads: Bool
    let logRetainBytes: Int
    let timers: any NodeTimers
    let transport: NetworkLeaderTransport
    let logger: Logger
    let nowMillis: @Sendable () -> UInt64

    /// `lag`: how long a follower may lag before the leader removes it from the ISR;
    /// `leaseReads`: whether leaders serve linearizable reads under their lease;
    /// `logRetainBytes`: how much of each partition's log is kept for lagging replicas.
    public init(
        node: Node, storage: any ReplicaStorage, network: any PeerNetwork, etcd: EtcdClient,
        metadata: ClusterMetadata, timers: any NodeTimers, leaseSeconds: Int = 2, lag: Duration = .seconds(2),
        leaseReads: Bool = true, logRetainBytes: Int = 64 << 20, logger: Logger
    ) {
        let start = ContinuousClock.now
        let nowMillis: @Sendable () -> UInt64 = { UInt64((ContinuousClock.now - start) / .milliseconds(1)) + 1 }
        self.node = node
        self.storage = storage
        self.election = PartitionElection(etcd: etcd, metadata: metadata)
        self.lease = LeadershipLease(etcd: etcd, ttlSeconds: leaseSeconds, nowMillis: nowMillis)
        self.lag = lag
        self.leaseReads = leaseReads
        self.logRetainBytes = logRetainBytes
        self.timers = timers
        transport = NetworkLeaderTransport(network: network)
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
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.lease.run() }
                group.addTask { await leadership.run() }
                while !Task.isCancelled {
                    self.openNewReplicas()
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    /// Opens the replicas of hosted partitions that have none yet (they act on events:
    /// etcd's news, clients, peers, and the timers they set).
    private func openNewReplicas() {
        var opened = 0
        for partition in hosted()
        where node.leaderReplicas.replica(keyspace: partition.keyspace.name, partition: partition.partition) == nil {
            guard let keyspace = try? node.keyspace(named: partition.keyspace.name) else { continue }
            do {
                var configuration = LeaderReplicaConfiguration(
                    me: node.id, replicas: partition.replicas, minInSync: keyspace.minInSync ?? 1, lag: lag)
                configuration.leaseReads = leaseReads
                configuration.logRetainBytes = logRetainBytes
                let replica = try LeaderReplica(
                    configuration: configuration, keyspace: partition.keyspace, partition: partition.partition,
                    storage: storage, coordination: election, transport: transport, timers: timers,
                    nowMillis: nowMillis,
                    onLogCut: { [node, keyspace = partition.keyspace, index = partition.partition] cut, now in
                        node.leaderLogCut(cut, keyspace: keyspace, partition: index, monotonicNow: now)
                    },
                    onSnapshot: { [node, keyspace = partition.keyspace, index = partition.partition] progress in
                        node.leaderSnapshot(progress, keyspace: keyspace, partition: index)
                    })
                node.leaderReplicas.register(replica)
                opened += 1
            } catch {
                logger.error(
                    "opening a leader-mode partition failed",
                    metadata: [
                        "keyspace": "\(partition.keyspace)", "partition": "\(partition.partition)", "error": "\(error)",
                    ])
            }
        }
        if opened > 0 { logger.info("hosting leader-mode partitions", metadata: ["opened": "\(opened)"]) }
    }
}
