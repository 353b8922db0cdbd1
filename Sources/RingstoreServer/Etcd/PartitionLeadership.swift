import Foundation
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization

/// Keeps a node's leader-mode replicas in step with etcd (DESIGN section 6): every
/// round it reads each keyspace's leader keys (one range), tells each hosted replica who
/// leads in which epoch, renews the lease validity of the replicas that lead, and
/// campaigns for partitions without a leader, under the node's `LeadershipLease`. The
/// partition's first replica on the ring (its preferred leader, as in Kafka) campaigns at
/// once; the others only after seeing it leaderless for `patienceRounds` rounds, which
/// spreads leaderships over the nodes as the ring spreads primaries.
public struct PartitionLeadership: Sendable {
    /// A partition this node hosts: its keyspace, number and replicas.
    public struct Hosted: Sendable {
        public var keyspace: KeyspaceName
        public var partition: Int
        public var replicas: [NodeID]

        public init(keyspace: KeyspaceName, partition: Int, replicas: [NodeID]) {
            self.keyspace = keyspace
            self.partition = partition
            self.replicas = replicas
        }
    }

    let me: NodeID
    let election: PartitionElection
    let lease: LeadershipLease
    let replicas: LeaderReplicas
    let hosted: @Sendable () -> [Hosted]
    /// Leader-mode keyspaces whose leaders to learn even where this node hosts nothing.
    let keyspaces: @Sendable () -> [KeyspaceName]
    let patienceRounds: Int
    private let leaderless = LeaderlessRounds()

    public init(
        me: NodeID, election: PartitionElection, lease: LeadershipLease, replicas: LeaderReplicas,
        patienceRounds: Int = 0, keyspaces: @escaping @Sendable () -> [KeyspaceName] = { [] },
        hosted: @escaping @Sendable () -> [Hosted]
    ) {
        self.keyspaces = keyspaces
        self.patienceRounds = patienceRounds
        self.me = me
        self.election = election
        self.lease = lease
        self.replicas = replicas
        self.hosted = hosted
    }

    /// One round over every hosted partition.
    public func round() async throws {
        let partitions = hosted()
        var leaders: [String: [Int: PartitionElection.Leadership]] = [:]
        for keyspace in Set(partitions.map(\.keyspace.name) + keyspaces().map(\.name)) {
            let name = try KeyspaceName(validating: keyspace)
            let known = try await election.leaders(name)
            leaders[keyspace] = known
            replicas.learnLeaders(keyspace: name, known.mapValues { ($0.node, $0.epoch) })
        }
        let held = lease.current
        for partition in partitions {
            guard let replica = replicas.replica(keyspace: partition.keyspace.name, partition: partition.partition)
            else { continue }
            let status = replica.status
            let name = LeaderReplicas.name(partition.keyspace.name, partition.partition)
            if let leadership = leaders[partition.keyspace.name]?[partition.partition] {
                leaderless.reset(name)
                if leadership.node == me {
                    // A key this node won in an earlier life waits out its old lease.
                    guard let held, held.id == leadership.lease else {
                        if status.leader == me { replica.leaseLost() }
                        continue
                    }
                    if status.leader == me, status.epoch == leadership.epoch {
                        replica.leaseRenewed(validUntil: held.validUntil)
                    } else if let (isr, _) = try await election.inSync(
                        partition.keyspace, partition: partition.partition)
                    {
                        // A win under this lease the replica has not taken up (its answer was
                        // lost, or the replica still leads an older epoch): lead in it.
                        if status.leader == me { replica.leaseLost() }
                        replica.elected(
                            leadership.epoch, inSync: Set(isr.members.map(NodeID.init)),
                            leaseValidUntil: held.validUntil)
                    }
                } else {
                    replica.leaderIs(leadership.node, epoch: leadership.epoch)
                }
                continue
            }
            // No leader: whoever led lost its key with its lease.
            if status.leader == me { replica.leaseLost() }
            guard let held, partition.replicas.first == me || leaderless.count(name) > patienceRounds else { continue }
            try await election.initialize(
                partition.keyspace, partition: partition.partition, replicas: partition.replicas)
            if let epoch = try await election.campaign(
                partition.keyspace, partition: partition.partition, me: me, lease: held.id),
                let (isr, _) = try await election.inSync(partition.keyspace, partition: partition.partition)
            {
                replica.elected(
                    epoch, inSync: Set(isr.members.map(NodeID.init)), leaseValidUntil: held.validUntil)
            }
        }
    }

    /// Rounds every `interval` until cancelled; a round that cannot reach etcd is retried.
    public func run(interval: Duration = .milliseconds(100)) async {
        while !Task.isCancelled {
            try? await round()
            try? await Task.sleep(for: interval)
        }
    }
}

/// How many rounds in a row each partition was seen without a leader.
final class LeaderlessRounds: Sendable {
    private let rounds = Mutex<[String: Int]>([:])

    /// Counts one more leaderless round and returns how many there were.
    func count(_ name: String) -> Int {
        rounds.withLock { rounds in
            rounds[name, default: 0] += 1
            return rounds[name]!
        }
    }

    func reset(_ name: String) { _ = rounds.withLock { $0.removeValue(forKey: name) } }
}
