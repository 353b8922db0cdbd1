import RingstoreCore
import Synchronization

/// The leader-mode partition replicas a node hosts, by keyspace and partition: where
/// peers' fetches are routed.
public final class LeaderReplicas: Sendable {
    private let replicas = Mutex<[String: LeaderReplica]>([:])

    public init() {}

    static func name(_ keyspace: String, _ partition: Int) -> String { "\(keyspace)/\(partition)" }

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
}
