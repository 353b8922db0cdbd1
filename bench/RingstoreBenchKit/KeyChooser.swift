import RingstoreCore

/// How a run picks the record an operation touches (YCSB's `requestdistribution`).
public enum RequestDistribution: String, Sendable, CaseIterable, Codable {
    /// Zipfian ranks, scrambled over the key space so the popular keys are not neighbours.
    case zipfian
    /// Every record equally likely.
    case uniform
    /// Zipfian over recency: the most recently inserted records are the most popular.
    case latest
}

/// Picks record numbers for one connection: its own zipfian state over a shared, growing
/// record count.
public struct KeyChooser: Sendable {
    public let distribution: RequestDistribution
    private var zipfian: ZipfianGenerator

    public init(distribution: RequestDistribution, recordCount: Int) {
        self.distribution = distribution
        zipfian = ZipfianGenerator(itemCount: max(1, recordCount))
    }

    /// A record number in `0..<recordCount`.
    public mutating func next(recordCount: Int, using random: inout SeededRandom) -> Int {
        let count = max(1, recordCount)
        switch distribution {
        case .uniform:
            return Int(random.next() % UInt64(count))
        case .zipfian:
            let rank = zipfian.next(itemCount: count, using: &random)
            return Int(Self.scramble(UInt64(rank)) % UInt64(count))
        case .latest:
            let rank = zipfian.next(itemCount: count, using: &random)
            return count - 1 - rank
        }
    }

    /// FNV-1a over the rank's eight bytes: spreads popular ranks over the key space, like
    /// YCSB's scrambled zipfian (which, like this, may fold two ranks onto one record).
    static func scramble(_ value: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var rest = value
        for _ in 0..<8 {
            hash ^= rest & 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
            rest >>= 8
        }
        return hash
    }

    /// The key of record `number`, YCSB style.
    public static func key(_ number: Int) -> String { "user\(number)" }
}
