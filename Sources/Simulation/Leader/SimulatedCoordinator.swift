import Replication
import RingstoreCore

/// etcd as the leader-mode simulation needs it: leases with a time to live (a node grants
/// a new one each time it starts, as a restarted process does), the partition's leader
/// key bound to its holder's lease (gone when that lease expires), and the ISR; every
/// change bumps the revision, and a won election's revision is the epoch.
/// Requests are applied atomically at the instant they reach it, like etcd's transactions.
final class SimulatedCoordinator: @unchecked Sendable {
    let leaseMillis: UInt64
    private(set) var revision: UInt64 = 1
    private(set) var leader: Holder?
    private(set) var inSync: Set<NodeID>
    /// Lease id -> when it expires.
    private var leases: [UInt64: UInt64] = [:]

    /// Who holds the leader key: the node, its epoch and the lease the key is bound to.
    struct Holder {
        var node: NodeID
        var epoch: Epoch
        var lease: UInt64
    }
    /// Every election: epoch, winner and when (simulated ms).
    private(set) var elections: [(epoch: Epoch, node: NodeID, at: UInt64)] = []

    init(replicas: [NodeID], leaseMillis: UInt64) {
        self.leaseMillis = leaseMillis
        inSync = Set(replicas)
    }

    /// Drops expired leases, and the leader key with its holder's lease.
    private func expire(now: UInt64) {
        for (lease, until) in leases where until <= now { leases[lease] = nil }
        if let current = leader, leases[current.lease] == nil {
            leader = nil
            revision += 1
        }
    }

    /// A keepalive of `lease` (granted again if it had expired, but the leader key bound to
    /// it is gone for good); answers the leader key and the ISR.
    func heartbeat(lease: UInt64, now: UInt64) -> (leader: Holder?, inSync: Set<NodeID>) {
        expire(now: now)
        leases[lease] = now + leaseMillis
        return (leader, inSync)
    }

    /// Creates the leader key for `node` if there is none and `node` is in the ISR (one
    /// transaction); the new epoch, or nil.
    func campaign(_ node: NodeID, lease: UInt64, now: UInt64) -> Epoch? {
        expire(now: now)
        guard leader == nil, inSync.contains(node), leases[lease] != nil else { return nil }
        revision += 1
        let epoch = Epoch(revision)
        leader = Holder(node: node, epoch: epoch, lease: lease)
        elections.append((epoch, node, now))
        return epoch
    }

    /// Writes the ISR if `epoch` still holds the leader key.
    func proposeInSync(_ members: Set<NodeID>, epoch: Epoch, now: UInt64) -> Bool {
        expire(now: now)
        guard leader?.epoch == epoch else { return false }
        inSync = members
        revision += 1
        return true
    }

    /// A linearizable read of the leader key: whether `node` still leads in `epoch`.
    func confirms(_ node: NodeID, epoch: Epoch, now: UInt64) -> Bool {
        expire(now: now)
        return leader?.node == node && leader?.epoch == epoch
    }
}
