/// A partition of the ring: one of Q fixed slices of the 64-bit hash space.
public struct PartitionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let index: Int

    public init(_ index: Int) { self.index = index }

    public static func < (lhs: PartitionID, rhs: PartitionID) -> Bool { lhs.index < rhs.index }

    public var description: String { "p\(index)" }
}

/// The consistent-hashing ring of DESIGN section 2: Q fixed partitions (a power of two,
/// much larger than the node count, as Dynamo's strategy 3 and Riak's ring_size), each
/// claimed by a primary node so that every node owns floor(Q/n) or ceil(Q/n) primaries,
/// and whose preference list starts with N distinct owners followed by every other node
/// as a fallback (sloppy quorum). Pure: the cluster issue keeps it in etcd and moves
/// partitions when nodes join.
public struct Ring: Sendable, Equatable {
    public let partitionCount: Int
    /// The nodes in ring order.
    public let nodes: [NodeID]
    /// `primaries[p]` is the index in `nodes` of partition p's primary.
    private let primaries: [Int]
    /// Explicit owners (indexes in `nodes`, preference order) when the ring was claimed
    /// by `RingClaim`; nil for the round-robin claim of `init(partitionCount:nodes:)`.
    private let assigned: [[Int]]?
    /// The ring's version in etcd: every committed change and every step of a move
    /// raises it (1 for the ring `cluster init` writes).
    public let version: Int
    /// Partitions whose owners are changing, by partition (`PartitionMove`).
    public let moves: [PartitionMove]

    /// Claims every partition for `nodes`: primaries round-robin in node order, so the
    /// counts differ by at most one and the N owners of a partition (the primary and the
    /// next N-1 nodes in ring order) are distinct whenever N <= n.
    public init(partitionCount: Int = 64, nodes: [NodeID]) throws(RingstoreError) {
        guard partitionCount > 0, partitionCount & (partitionCount - 1) == 0, partitionCount <= 1 << 16 else {
            throw RingstoreError(.invalidParameter, "the partition count must be a power of two up to 65536")
        }
        let ordered = nodes.sorted()
        guard !ordered.isEmpty, Set(ordered).count == ordered.count else {
            throw RingstoreError(.invalidParameter, "a ring needs at least one node, each named once")
        }
        guard ordered.count <= partitionCount else {
            throw RingstoreError(.invalidParameter, "\(ordered.count) nodes need at least as many partitions")
        }
        self.partitionCount = partitionCount
        self.nodes = ordered
        primaries = (0..<partitionCount).map { $0 % ordered.count }
        assigned = nil
        version = 1
        moves = []
    }

    /// A ring whose partitions are held as `assignment` says, among `nodes` (the cluster's
    /// members: owners first in each preference list, the other nodes after them as
    /// fallbacks, in ring order from the primary on), at `version`, with `moves` under way
    /// (each names members only and agrees with the owners: `previous` while copying,
    /// `target` while draining).
    public init(assignment: RingAssignment, nodes: [NodeID], version: Int = 1, moves: [PartitionMove] = [])
        throws(RingstoreError)
    {
        let partitionCount = assignment.partitionCount
        guard partitionCount > 0, partitionCount & (partitionCount - 1) == 0, partitionCount <= 1 << 16 else {
            throw RingstoreError(.invalidParameter, "the partition count must be a power of two up to 65536")
        }
        let ordered = nodes.sorted()
        guard !ordered.isEmpty, Set(ordered).count == ordered.count else {
            throw RingstoreError(.invalidParameter, "a ring needs at least one node, each named once")
        }
        let index = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        var assigned: [[Int]] = []
        for (partition, owners) in assignment.owners.enumerated() {
            let positions = owners.compactMap { index[$0] }
            guard !owners.isEmpty, positions.count == owners.count, Set(positions).count == positions.count else {
                throw RingstoreError(
                    .invalidParameter, "partition \(partition)'s owners \(owners) are not distinct members of the ring")
            }
            assigned.append(positions)
        }
        var seen = Set<Int>()
        for move in moves {
            guard (0..<partitionCount).contains(move.partition), seen.insert(move.partition).inserted,
                move.nodes.isSubset(of: index.keys), Set(move.target).count == move.target.count,
                !move.target.isEmpty, assignment.owners[move.partition] == move.counted
            else {
                throw RingstoreError(
                    .invalidParameter, "the move of partition \(move.partition) does not agree with the ring")
            }
        }
        guard version >= 1 else { throw RingstoreError(.invalidParameter, "a ring's version starts at 1") }
        self.partitionCount = partitionCount
        self.nodes = ordered
        primaries = assigned.map { $0[0] }
        self.assigned = assigned
        self.version = version
        self.moves = moves.sorted { $0.partition < $1.partition }
    }

    /// The ring's owners per partition, `replicas` of each (fewer when there are fewer
    /// nodes): the explicit ones, or the first of each preference list of the round-robin claim.
    public func assignment(replicas: Int) -> RingAssignment {
        RingAssignment(
            partitionCount: partitionCount, replicas: replicas,
            owners: (0..<partitionCount).map { Array(preferenceList(PartitionID($0)).prefix(replicas)) })
    }

    /// The explicit owners of a partition (empty for a round-robin ring).
    public func explicitOwners(_ partition: PartitionID) -> [NodeID] {
        assigned?[partition.index].map { nodes[$0] } ?? []
    }

    /// Whether the owners are explicit (claimed by `RingClaim`) rather than round-robin.
    public var isAssigned: Bool { assigned != nil }

    /// The partition a ring position falls in (the top bits of the hash).
    public func partition(ofPosition position: UInt64) -> PartitionID {
        PartitionID(Int(position >> UInt64(64 - partitionCount.trailingZeroBitCount)) & (partitionCount - 1))
    }

    public func partition(keyspace: KeyspaceName, key: Key) -> PartitionID {
        partition(ofPosition: StableHash.position(keyspace: keyspace, key: key))
    }

    /// Every node, starting with the partition's primary, in ring order: the first N are
    /// its owners, the rest the fallbacks that stand in for unreachable owners.
    public func preferenceList(_ partition: PartitionID) -> [NodeID] {
        precondition((0..<partitionCount).contains(partition.index), "partition \(partition) is not on this ring")
        let start = primaries[partition.index]
        guard let owners = assigned?[partition.index] else {
            return (0..<nodes.count).map { nodes[(start + $0) % nodes.count] }
        }
        let fallbacks = (0..<nodes.count).map { (start + $0) % nodes.count }.filter { !owners.contains($0) }
        return (owners + fallbacks).map { nodes[$0] }
    }

    /// The N owners of a partition.
    public func owners(_ partition: PartitionID, replicationFactor: Int) -> [NodeID] {
        Array(preferenceList(partition).prefix(replicationFactor))
    }

    /// How many partitions each node is primary for.
    public func primaryCounts() -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for index in primaries { counts[nodes[index], default: 0] += 1 }
        return counts
    }
}
