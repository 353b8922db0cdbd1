import Foundation

/// Phi accrual failure detection (Hayashibara et al., as in Cassandra and Akka) for one
/// peer: from the intervals between the signs of life it received (replies and
/// heartbeats), how suspicious the silence since the last one is. Phi is -log10 of the
/// probability that a live peer stays silent this long under a normal distribution of
/// intervals: phi 1 means a 10% chance, 8 means 10^-8. It adapts to each link: a peer
/// that answers every 10 ms is suspected after far less silence than one heard from
/// every second. Pure: the caller passes the time.
public struct FailureDetector: Sendable {
    /// Suspected above this phi (Cassandra's default `phi_convict_threshold`).
    public static let defaultThreshold = 8.0

    public let windowSize: Int
    /// Floor for the standard deviation, so perfectly regular intervals do not make a
    /// single late one look fatal.
    public let minimumDeviationMillis: Double
    /// Pause tolerated on top of the expected interval (a GC pause, a busy loop).
    public let acceptablePauseMillis: Double
    private var intervals: [Double] = []
    private var next = 0
    public private(set) var lastHeardMillis: UInt64?

    public init(windowSize: Int = 100, minimumDeviationMillis: Double = 50, acceptablePauseMillis: Double = 200) {
        precondition(windowSize >= 1)
        self.windowSize = windowSize
        self.minimumDeviationMillis = minimumDeviationMillis
        self.acceptablePauseMillis = acceptablePauseMillis
    }

    /// The peer showed it is alive at `nowMillis`.
    public mutating func heard(atMillis nowMillis: UInt64) {
        if let last = lastHeardMillis, nowMillis >= last {
            let interval = Double(nowMillis - last)
            if intervals.count < windowSize {
                intervals.append(interval)
            } else {
                intervals[next] = interval
                next = (next + 1) % windowSize
            }
        }
        lastHeardMillis = max(lastHeardMillis ?? 0, nowMillis)
    }

    /// How suspicious the silence is at `nowMillis`; 0 before anything was heard twice.
    public func phi(atMillis nowMillis: UInt64) -> Double {
        guard let last = lastHeardMillis, !intervals.isEmpty else { return 0 }
        let elapsed = Double(nowMillis > last ? nowMillis - last : 0)
        let observedMean = intervals.reduce(0, +) / Double(intervals.count)
        let variance =
            intervals.reduce(0) { $0 + ($1 - observedMean) * ($1 - observedMean) } / Double(intervals.count)
        let mean = observedMean + acceptablePauseMillis
        let deviation = max(variance.squareRoot(), minimumDeviationMillis)
        // P(interval > elapsed) for a normal distribution, through the complementary error function.
        let tail = 0.5 * erfc((elapsed - mean) / (deviation * 2.0.squareRoot()))
        return -log10(max(tail, 1e-300))
    }

    public func isSuspected(atMillis nowMillis: UInt64, threshold: Double = defaultThreshold) -> Bool {
        phi(atMillis: nowMillis) > threshold
    }
}
