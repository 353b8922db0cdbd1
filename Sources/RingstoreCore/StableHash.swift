/// xxHash64 with a fixed seed: the stable 64-bit hash that places keys on the ring
/// (DESIGN section 2). Never Swift's `Hasher`, which is seeded per process.
public enum StableHash {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The seed every Ringstore node uses; changing it moves every key.
    public static let ringSeed: UInt64 = 0

    public static func xxHash64(_ bytes: [UInt8], seed: UInt64 = ringSeed) -> UInt64 {
        bytes.withUnsafeBytes { xxHash64($0, seed: seed) }
    }

    public static func xxHash64(_ input: UnsafeRawBufferPointer, seed: UInt64 = ringSeed) -> UInt64 {
        let count = input.count
        var offset = 0
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: input.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func u32(_ at: Int) -> UInt64 {
            UInt64(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
            (acc &+ lane &* prime2).rotatedLeft(31) &* prime1
        }
        func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
            (acc ^ round(0, value)) &* prime1 &+ prime4
        }
        var hash: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= count {
                v1 = round(v1, u64(offset))
                v2 = round(v2, u64(offset + 8))
                v3 = round(v3, u64(offset + 16))
                v4 = round(v4, u64(offset + 24))
                offset += 32
            }
            hash = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
            hash = merge(hash, v1)
            hash = merge(hash, v2)
            hash = merge(hash, v3)
            hash = merge(hash, v4)
        } else {
            hash = seed &+ prime5
        }
        hash &+= UInt64(count)
        while offset + 8 <= count {
            hash ^= round(0, u64(offset))
            hash = hash.rotatedLeft(27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= count {
            hash ^= u32(offset) &* prime1
            hash = hash.rotatedLeft(23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            hash ^= UInt64(input[offset]) &* prime5
            hash = hash.rotatedLeft(11) &* prime1
            offset += 1
        }
        hash ^= hash >> 33
        hash &*= prime2
        hash ^= hash >> 29
        hash &*= prime3
        hash ^= hash >> 32
        return hash
    }

    /// The ring position of a key: the hash of `keyspace 0x00 key`.
    public static func position(keyspace: KeyspaceName, key: Key) -> UInt64 {
        var bytes = Array(keyspace.name.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.bytes)
        return xxHash64(bytes)
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedLeft(_ bits: UInt64) -> UInt64 { (self << bits) | (self >> (64 - bits)) }
}
