import RingstoreCore

/// When a fallback sends the hints it keeps back to their owners (DESIGN section 4):
/// never more than `inFlightMax` at once, never more than `bytesPerSecond` on average
/// (a token bucket one second deep that may run into debt by one hint, so a hint larger
/// than the budget still goes), and not to an owner whose last replay failed until its
/// back-off (doubling from `backoffMillis` to `backoffMaxMillis`) has passed. Pure: the
/// shell says what it starts and how each replay ended, with the time.
public struct HintReplay<HintID: Hashable & Sendable>: Sendable {
    public let bytesPerSecond: Int
    public let inFlightMax: Int
    public let backoffMillis: UInt64
    public let backoffMaxMillis: UInt64
    /// Hints sent and not answered yet, with their owners.
    public private(set) var inFlight: [HintID: NodeID] = [:]
    private var tokens: Double
    private var refilledAt: UInt64?
    private var backoff: [NodeID: (until: UInt64, millis: UInt64)] = [:]

    public init(bytesPerSecond: Int, inFlightMax: Int, backoffMillis: UInt64 = 500, backoffMaxMillis: UInt64 = 10_000) {
        precondition(bytesPerSecond > 0 && inFlightMax > 0, "replay needs a budget")
        self.bytesPerSecond = bytesPerSecond
        self.inFlightMax = inFlightMax
        self.backoffMillis = backoffMillis
        self.backoffMaxMillis = backoffMaxMillis
        tokens = Double(bytesPerSecond)
    }

    /// Whether a hint for `owner` may be sent now (the budget is left, the window has
    /// room, the owner is not backing off); `hint` not already in flight.
    public mutating func maySend(_ hint: HintID, to owner: NodeID, now: UInt64) -> Bool {
        refill(now)
        guard inFlight.count < inFlightMax, tokens > 0, inFlight[hint] == nil else { return false }
        if let waiting = backoff[owner], now < waiting.until { return false }
        return true
    }

    /// Whether anything at all may be sent now: the window has room and budget is left.
    public mutating func hasRoom(now: UInt64) -> Bool {
        refill(now)
        return inFlight.count < inFlightMax && tokens > 0
    }

    /// The shell sent `hint` of `bytes` to `owner`.
    public mutating func sent(_ hint: HintID, to owner: NodeID, bytes: Int) {
        inFlight[hint] = owner
        tokens -= Double(bytes)
    }

    /// The owner acknowledged `hint` durably (`succeeded`), or the replay failed.
    public mutating func finished(_ hint: HintID, succeeded: Bool, now: UInt64) {
        guard let owner = inFlight.removeValue(forKey: hint) else { return }
        if succeeded {
            backoff[owner] = nil
        } else {
            let millis = backoff[owner].map { min($0.millis * 2, backoffMaxMillis) } ?? backoffMillis
            backoff[owner] = (now + millis, millis)
        }
    }

    /// The failure detector trusts `owner` again after suspecting it: replay resumes at
    /// once instead of waiting out the back-off its failures built up.
    public mutating func ownerRecovered(_ owner: NodeID) {
        backoff[owner] = nil
    }

    private mutating func refill(_ now: UInt64) {
        defer { refilledAt = now }
        guard let last = refilledAt, now > last else { return }
        tokens = min(Double(bytesPerSecond), tokens + Double(now - last) * Double(bytesPerSecond) / 1000)
    }
}
