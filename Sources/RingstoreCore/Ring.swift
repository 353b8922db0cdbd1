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
    }

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
        return (0..<nodes.count).map { nodes[(start + $0) % nodes.count] }
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
