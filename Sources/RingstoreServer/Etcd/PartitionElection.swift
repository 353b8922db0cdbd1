import Foundation
import Replication
import RingstoreCore
import RingstoreNode

/// Leader elections for leader-mode partitions, in etcd (DESIGN section 6). Per
/// partition of a keyspace:
///
/// - `/ringstore/<cluster>/leaders/<keyspace>/<partition>`: `{"node": "n2", "lease": 7}`, bound to the
///   winner's lease (it goes when the winner stops renewing it). Its create revision is
///   the winner's **epoch**.
/// - `/ringstore/<cluster>/isr/<keyspace>/<partition>`: `{"members": ["n1", "n2"],
///   "epoch": 41}`, the in-sync replicas and the epoch of the leader that wrote them (0
///   for the initial set).
///
/// A campaign is one transaction: the leader key must not exist and the ISR key must be
/// unchanged since the candidate read it and found itself a member. An ISR change is one
/// transaction guarded by the leader key's create revision, so a deposed leader cannot
/// make one.
public struct PartitionElection: Sendable {
    let etcd: EtcdClient
    let metadata: ClusterMetadata
    /// Shared ranges of a keyspace's leader keys for `confirms`.
    let confirmations = CoalescedReads<[Int: Leadership]>()

    public init(etcd: EtcdClient, metadata: ClusterMetadata) {
        self.etcd = etcd
        self.metadata = metadata
    }

    /// Who leads a partition, since which epoch, under which of its leases.
    public struct Leadership: Sendable, Equatable {
        public var node: NodeID
        public var epoch: Epoch
        /// The lease the key is bound to: a restarted node holds a new one and must not
        /// take a key its previous life won for its own.
        public var lease: Int64

        public init(node: NodeID, epoch: Epoch, lease: Int64) {
            self.node = node
            self.epoch = epoch
            self.lease = lease
        }
    }

    /// The ISR document.
    public struct InSync: Codable, Sendable, Equatable {
        public var members: [String]
        public var epoch: UInt64

        public init(members: [String], epoch: UInt64) {
            self.members = members
            self.epoch = epoch
        }
    }

    struct LeaderDocument: Codable {
        var node: String
        var lease: Int64
    }

    func leaderKey(_ keyspace: KeyspaceName, _ partition: Int) -> String {
        metadata.root + "leaders/\(keyspace)/\(partition)"
    }

    func inSyncKey(_ keyspace: KeyspaceName, _ partition: Int) -> String {
        metadata.root + "isr/\(keyspace)/\(partition)"
    }

    /// Writes the initial ISR (every replica) unless the partition has one.
    public func initialize(_ keyspace: KeyspaceName, partition: Int, replicas: [NodeID]) async throws {
        _ = try await etcd.create(
            inSyncKey(keyspace, partition),
            ClusterMetadata.encode(InSync(members: replicas.map(\.description), epoch: 0)))
    }

    /// The ISR and the revision it was last written at.
    public func inSync(_ keyspace: KeyspaceName, partition: Int) async throws -> (InSync, revision: Int64)? {
        guard let kv = try await etcd.range(inSyncKey(keyspace, partition)).first,
            let document = ClusterMetadata.decode(InSync.self, kv.value)
        else { return nil }
        return (document, kv.modRevision)
    }

    /// Tries to become the partition's leader under `lease`: the epoch won, or nil when
    /// a leader exists or `me` is not in the ISR.
    public func campaign(_ keyspace: KeyspaceName, partition: Int, me: NodeID, lease: Int64) async throws -> Epoch? {
        guard let (isr, revision) = try await inSync(keyspace, partition: partition),
            isr.members.contains(me.description)
        else { return nil }
        let (won, at) = try await etcd.transaction(
            [
                .createRevision(leaderKey(keyspace, partition), 0),
                .modRevision(inSyncKey(keyspace, partition), revision),
            ],
            puts: [
                (
                    leaderKey(keyspace, partition),
                    ClusterMetadata.encode(LeaderDocument(node: me.description, lease: lease)), lease
                )
            ])
        return won ? Epoch(UInt64(at)) : nil
    }

    /// Every partition of `keyspace` that has a leader now (one linearizable range).
    public func leaders(_ keyspace: KeyspaceName) async throws -> [Int: Leadership] {
        let prefix = metadata.root + "leaders/\(keyspace)/"
        var leaders: [Int: Leadership] = [:]
        for kv in try await etcd.range(prefix, prefix: true) {
            guard let partition = Int(kv.key.dropFirst(prefix.count)),
                let document = ClusterMetadata.decode(LeaderDocument.self, kv.value)
            else { continue }
            leaders[partition] = Leadership(
                node: NodeID(document.node), epoch: Epoch(UInt64(kv.createRevision)), lease: document.lease)
        }
        return leaders
    }

    /// Whether `me` still leads the partition in `epoch` (a linearizable read: what a
    /// batch of linearizable reads waits for). Confirmations of all partitions of a
    /// keyspace share one range of its leader keys that started after they were asked.
    public func confirms(_ keyspace: KeyspaceName, partition: Int, me: NodeID, epoch: Epoch) async throws -> Bool {
        let current = try await confirmations.read(keyspace.name) { try await self.leaders(keyspace) }
        guard let leadership = current[partition] else { return false }
        return leadership.node == me && leadership.epoch == epoch
    }

    /// Writes the ISR if the leader of `epoch` still holds the leader key.
    public func proposeInSync(_ keyspace: KeyspaceName, partition: Int, members: Set<NodeID>, epoch: Epoch)
        async throws -> Bool
    {
        let document = InSync(members: members.map(\.description).sorted(), epoch: epoch.value)
        let (done, _) = try await etcd.transaction(
            [.createRevision(leaderKey(keyspace, partition), Int64(epoch.value))],
            puts: [(inSyncKey(keyspace, partition), ClusterMetadata.encode(document), nil)])
        return done
    }
}

/// A leader-mode replica reaches etcd through the election's transactions.
extension PartitionElection: LeaderCoordination {}
