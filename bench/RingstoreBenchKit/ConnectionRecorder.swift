import Histogram
import NIOConcurrencyHelpers

/// What one connection measured: latency histograms per operation kind (microseconds,
/// successful operations only), errors by kind, reads that found nothing, and the
/// current one-second interval for the progress line and the throughput series.
/// Written by the connection's event loop, read by the sampler once a second.
final class ConnectionRecorder: @unchecked Sendable {
    private let lock = NIOLock()
    private var totals: [OperationKind: Histogram<UInt64>] = [:]
    private var interval = LatencySummary.makeHistogram()
    private var intervalErrors = 0
    private var errors: [String: Int] = [:]
    private var notFound = 0
    private var inFlightSince: UInt64?

    func started(at nanos: UInt64) {
        lock.withLock { inFlightSince = nanos }
    }

    func finished(_ kind: OperationKind, micros: UInt64, found: Bool) {
        lock.withLock {
            inFlightSince = nil
            let value = max(1, micros)
            totals[kind, default: LatencySummary.makeHistogram()].record(value)
            interval.record(value)
            if !found { notFound += 1 }
        }
    }

    func failed(_ kind: String) {
        lock.withLock {
            inFlightSince = nil
            errors[kind, default: 0] += 1
            intervalErrors += 1
        }
    }

    /// The operation in flight was given up without a verdict (its connection closed after
    /// the phase stopped).
    func abandoned() {
        lock.withLock { inFlightSince = nil }
    }

    /// When the operation in flight started (monotonic nanoseconds), if one is.
    var operationStart: UInt64? { lock.withLock { inFlightSince } }

    /// Hands over the interval's histogram and error count and starts a new interval.
    func takeInterval() -> (Histogram<UInt64>, Int) {
        lock.withLock {
            let taken = (interval, intervalErrors)
            interval.reset()
            intervalErrors = 0
            return taken
        }
    }

    /// Forgets everything measured so far (the end of the warm-up).
    func reset() {
        lock.withLock {
            totals = [:]
            interval.reset()
            intervalErrors = 0
            errors = [:]
            notFound = 0
        }
    }

    func snapshot() -> (totals: [OperationKind: Histogram<UInt64>], errors: [String: Int], notFound: Int) {
        lock.withLock { (totals, errors, notFound) }
    }
}
