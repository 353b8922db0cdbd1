import Histogram

/// Latency figures of a set of operations, in microseconds.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var mean: Double
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        mean = count == 0 ? 0 : histogram.mean
        p50 = count == 0 ? 0 : histogram.valueAtPercentile(50)
        p90 = count == 0 ? 0 : histogram.valueAtPercentile(90)
        p99 = count == 0 ? 0 : histogram.valueAtPercentile(99)
        p999 = count == 0 ? 0 : histogram.valueAtPercentile(99.9)
        max = count == 0 ? 0 : histogram.max
    }

    /// The latency distribution as (percentile, microseconds) points, dense towards the
    /// tail, for CDF plots.
    public static func cdf(_ histogram: Histogram<UInt64>) -> [[Double]] {
        guard histogram.totalCount > 0 else { return [] }
        return histogram.percentiles(ticksPerHalfDistance: 5).map { [$0.percentileLevelIteratedTo, Double($0.value)] }
    }

    /// A histogram for microsecond latencies up to a minute, three significant digits.
    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }
}
