import PropertyBased
import RingstoreCore
import Testing

@Suite struct RingTests {
    /// Reference values from the xxHash library (the `xxhash` Python package, seed 0 and 42).
    @Test(arguments: [
        ([UInt8](), 0 as UInt64, 0xEF46_DB37_51D8_E999 as UInt64),
        (Array("a".utf8), 0, 0xD24E_C4F1_A98C_6E5B),
        (Array("abc".utf8), 0, 0x44BC_2CF5_AD77_0999),
        (Array("abc".utf8), 42, 0x13C1_D910_7027_70E6),
        (Array("0123456789abcdef0123456789abcdef0123456789".utf8), 0, 0xA761_90C3_ACF0_8A1C),
        (Array("default\u{0}user:1".utf8), 0, 0x1B51_57D6_5999_70C6),
        (Array(0..<100) as [UInt8], 0, 0x6AC1_E580_3216_6597),
        (Array(0..<100) as [UInt8], 42, 0x819D_2B72_6001_D507),
    ])
    func xxHash64MatchesTheReference(input: [UInt8], seed: UInt64, expected: UInt64) {
        #expect(StableHash.xxHash64(input, seed: seed) == expected)
    }

    static func nodes(_ n: Int) -> [NodeID] { (1...n).map { NodeID("n\($0)") } }

    /// For 1-16 nodes and any power-of-two partition count from n up: primaries are
    /// balanced (floor or ceil of Q/n) and the N owners of every partition are distinct.
    @Test func claimIsBalancedWithDistinctOwners() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...16), Gen.int(in: 0...6)) { n, extraBits in
            let q = max(n, 1).nextPowerOfTwoForTest << extraBits
            guard let ring = try? Ring(partitionCount: q, nodes: Self.nodes(n)) else {
                Issue.record("ring of \(n) nodes and \(q) partitions refused")
                return
            }
            let counts = ring.primaryCounts()
            #expect(counts.count == n)
            #expect(counts.values.allSatisfy { $0 == q / n || $0 == (q + n - 1) / n }, "\(counts)")
            for p in 0..<q {
                let list = ring.preferenceList(PartitionID(p))
                #expect(Set(list).count == n, "preference list of p\(p) repeats a node")
                for replicas in 1...min(n, 5) {
                    #expect(Set(ring.owners(PartitionID(p), replicationFactor: replicas)).count == replicas)
                }
            }
        }
    }

    @Test func keysSpreadOverPartitions() throws {
        let ring = try Ring(partitionCount: 64, nodes: Self.nodes(3))
        var hits = [Int](repeating: 0, count: 64)
        for i in 0..<64_000 {
            let partition = ring.partition(keyspace: .default, key: try Key(validating: Array("user:\(i)".utf8)))
            hits[partition.index] += 1
        }
        // 1,000 expected per partition; a stable hash keeps every one within 20%.
        #expect(hits.allSatisfy { (800...1200).contains($0) }, "\(hits)")
    }

    @Test func invalidRingsAreRefused() {
        #expect(throws: RingstoreError.self) { try Ring(partitionCount: 48, nodes: Self.nodes(3)) }
        #expect(throws: RingstoreError.self) { try Ring(partitionCount: 64, nodes: []) }
        #expect(throws: RingstoreError.self) { try Ring(partitionCount: 64, nodes: [NodeID("a"), NodeID("a")]) }
        #expect(throws: RingstoreError.self) { try Ring(partitionCount: 2, nodes: Self.nodes(3)) }
    }
}

extension Int {
    var nextPowerOfTwoForTest: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
