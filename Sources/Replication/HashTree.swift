import RingstoreCore

/// The digest of one partition replica's contents (DESIGN section 4): a two-level hash
/// tree of `bucketCount` leaves and a root. A key falls in the bucket its ring position's
/// low bits name; a leaf is the XOR of `mix(position, object digest)` over the keys in
/// its bucket, so a write updates it in O(1) (XOR out the old term, XOR in the new) and
/// the tree never has to be rebuilt. Two replicas with equal roots hold the same
/// objects (up to a 64-bit collision); unequal leaves name the buckets to compare key by
/// key.
public struct HashTree: Sendable, Equatable {
    public static let bucketCount = 256

    public private(set) var leaves: [UInt64]

    public init() { leaves = Array(repeating: 0, count: Self.bucketCount) }

    /// `leaves` from a peer; nil unless there are exactly `bucketCount`.
    public init?(leaves: [UInt64]) {
        guard leaves.count == Self.bucketCount else { return nil }
        self.leaves = leaves
    }

    public static func bucket(ofPosition position: UInt64) -> Int { Int(position & UInt64(bucketCount - 1)) }

    /// A key's object changed from `old` to `new` (digests; nil: absent).
    public mutating func update(position: UInt64, old: UInt64?, new: UInt64?) {
        let bucket = Self.bucket(ofPosition: position)
        if let old { leaves[bucket] ^= Self.term(position, old) }
        if let new { leaves[bucket] ^= Self.term(position, new) }
    }

    /// The root: a hash of every leaf.
    public var root: UInt64 {
        var bytes = ByteWriter(capacity: leaves.count * 8)
        for leaf in leaves { bytes.write(leaf) }
        return StableHash.xxHash64(bytes.bytes)
    }

    /// The buckets whose leaves differ.
    public func differingBuckets(from other: HashTree) -> [Int] {
        leaves.indices.filter { leaves[$0] != other.leaves[$0] }
    }

    /// One key's term: a hash of its position and its object's digest, so the same
    /// object under another key, or another object under the same key, differs.
    static func term(_ position: UInt64, _ digest: UInt64) -> UInt64 {
        var bytes = ByteWriter(capacity: 16)
        bytes.write(position)
        bytes.write(digest)
        return StableHash.xxHash64(bytes.bytes)
    }

    /// The digest of an object: a hash of its encoding (canonical: siblings sorted by dot,
    /// clocks by node).
    public static func digest(_ object: ReplicaObject) -> UInt64 { StableHash.xxHash64(object.encoded()) }
}
