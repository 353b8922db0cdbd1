import Foundation
import RingstoreCore

/// Zipf-distributed ranks over `0..<itemCount`, rank 0 the most popular, computed the way
/// YCSB does (Gray et al., "Quickly generating billion-record synthetic databases",
/// SIGMOD 1994) with YCSB's skew constant 0.99 by default.
///
/// The item count may grow between draws (inserts in workload D): the zeta sum is
/// extended term by term instead of being recomputed.
public struct ZipfianGenerator: Sendable {
    /// YCSB's `ZIPFIAN_CONSTANT`.
    public static let ycsbTheta = 0.99

    public let theta: Double
    private let alpha: Double
    private let zeta2: Double
    private(set) var itemCount: Int
    private var zetaN: Double
    private var eta: Double

    public init(itemCount: Int, theta: Double = ZipfianGenerator.ycsbTheta) {
        precondition(itemCount > 0, "a zipfian needs at least one item")
        precondition(theta > 0 && theta < 1, "theta must lie in (0, 1), got \(theta)")
        self.theta = theta
        alpha = 1 / (1 - theta)
        zeta2 = Self.zeta(from: 0, to: 2, theta: theta)
        self.itemCount = itemCount
        zetaN = Self.zeta(from: 0, to: itemCount, theta: theta)
        eta = 0
        eta = Self.eta(itemCount: itemCount, theta: theta, zeta2: zeta2, zetaN: zetaN)
    }

    /// The next rank in `0..<itemCount`, growing the item count first when asked to.
    public mutating func next(itemCount newCount: Int? = nil, using random: inout SeededRandom) -> Int {
        if let newCount, newCount > itemCount {
            zetaN += Self.zeta(from: itemCount, to: newCount, theta: theta)
            itemCount = newCount
            eta = Self.eta(itemCount: itemCount, theta: theta, zeta2: zeta2, zetaN: zetaN)
        }
        let u = random.unit()
        let uz = u * zetaN
        if uz < 1 { return 0 }
        if uz < 1 + pow(0.5, theta) { return min(1, itemCount - 1) }
        let rank = Int(Double(itemCount) * pow(eta * u - eta + 1, alpha))
        return min(rank, itemCount - 1)
    }

    /// The probability of rank 0: 1 / zeta(n), for tests and reports.
    public var probabilityOfFirst: Double { 1 / zetaN }

    /// Sum of 1/i^theta for i in (from, to].
    static func zeta(from: Int, to: Int, theta: Double) -> Double {
        var sum = 0.0
        var i = from + 1
        while i <= to {
            sum += 1 / pow(Double(i), theta)
            i += 1
        }
        return sum
    }

    static func eta(itemCount: Int, theta: Double, zeta2: Double, zetaN: Double) -> Double {
        (1 - pow(2 / Double(itemCount), 1 - theta)) / (1 - zeta2 / zetaN)
    }
}
