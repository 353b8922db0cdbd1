/// Spaces units of work (anti-entropy repairs) so that at most `perSecond` start per
/// second, evenly: each reservation says how long to wait before starting. Pure: the
/// shell passes the time.
public struct Pacer: Sendable {
    public let perSecond: Int
    /// When the next unit may start, in microseconds.
    private var nextFreeMicros: UInt64 = 0

    public init(perSecond: Int) {
        precondition(perSecond > 0, "a pace needs a rate")
        self.perSecond = perSecond
    }

    /// Reserves the next slot; returns the milliseconds to wait until it.
    public mutating func reserve(now millis: UInt64) -> UInt64 { reserve(now: millis, units: 1) }

    /// Reserves `units` (bytes of a transfer) at once: the next reservation starts once
    /// they took their share of the rate. Returns the milliseconds to wait before these.
    public mutating func reserve(now millis: UInt64, units: Int) -> UInt64 {
        let now = millis * 1000
        let start = max(now, nextFreeMicros)
        let span = UInt64(max(0, units)).multipliedReportingOverflow(by: 1_000_000)
        nextFreeMicros = start + (span.overflow ? UInt64.max / 2 : span.partialValue / UInt64(perSecond))
        return (start - now) / 1000
    }
}
