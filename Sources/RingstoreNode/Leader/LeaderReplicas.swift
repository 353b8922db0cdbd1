import Replication
import RingstoreCore
import Synchronization

/// The leader-mode partition replicas a node hosts, by keyspace and partition: where
/// peers' fetches are routed. It also remembers who etcd last said leads each partition,
/// hosted here or not, so that a request can be sent on to the leader.
public final class LeaderReplicas: Sendable {
    private let replicas = Mutex<[String: LeaderReplica]>([:])
    private let leaders = Mutex<[String: (node: NodeID, epoch: Epoch)]>([:])

    public init() {}

    public static func name(_ keyspace: String, _ partition: Int) -> String { "\(keyspace)/\(partition)" }

    /// Hosts `replica` (replacing one of the same partition).
    public func register(_ replica: LeaderReplica) {
        let name = Self.name(replica.keyspace.name, replica.partition)
        replicas.withLock { $0[name] = replica }
    }

    /// Stops hosting the partition's replica.
    public func remove(keyspace: KeyspaceName, partition: Int) {
        _ = replicas.withLock { $0.removeValue(forKey: Self.name(keyspace.name, partition)) }
    }

    public func replica(keyspace: String, partition: Int) -> LeaderReplica? {
        replicas.withLock { $0[Self.name(keyspace, partition)] }
    }

    /// Every hosted replica.
    public var all: [LeaderReplica] { replicas.withLock { Array($0.values) } }

    /// Records the leaders etcd names for a keyspace's partitions (all of them: a
    /// partition missing here has none).
    public func learnLeaders(keyspace: KeyspaceName, _ known: [Int: (node: NodeID, epoch: Epoch)]) {
        leaders.withLock { leaders in
            leaders = leaders.filter { !$0.key.hasPrefix(keyspace.name + "/") }
            for (partition, leader) in known { leaders[Self.name(keyspace.name, partition)] = leader }
        }
    }

    /// The leader etcd last named for the partition.
    public func leader(keyspace: String, partition: Int) -> (node: NodeID, epoch: Epoch)? {
        leaders.withLock { $0[Self.name(keyspace, partition)] }
    }
}
