import RingstoreCore

/// The simulator's clock and event queue, and its one source of randomness. Events run
/// one at a time in time order (ties in scheduling order), so a run is a function of
/// its seed. Single-threaded: everything in a simulation runs inside `run`.
public final class SimulatedWorld: @unchecked Sendable {
    public private(set) var nowMillis: UInt64 = 1_000_000
    public var random: SeededRandom
    private var queue: [(at: UInt64, order: UInt64, body: () -> Void)] = []
    private var order: UInt64 = 0

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    public func schedule(afterMillis delay: UInt64, _ body: @escaping () -> Void) {
        order += 1
        let event = (nowMillis + delay, order, body)
        // Binary insertion keeps the queue sorted by (time, order).
        var low = 0
        var high = queue.count
        while low < high {
            let mid = (low + high) / 2
            if (queue[mid].at, queue[mid].order) < (event.0, event.1) { low = mid + 1 } else { high = mid }
        }
        queue.insert(event, at: low)
    }

    /// Runs events until the queue is empty or the clock passes `untilMillis`.
    public func run(untilMillis: UInt64) {
        while let first = queue.first, first.at <= untilMillis {
            queue.removeFirst()
            nowMillis = max(nowMillis, first.at)
            first.body()
        }
        nowMillis = max(nowMillis, untilMillis)
    }

    public func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }

    public func between(_ range: ClosedRange<UInt64>) -> UInt64 { UInt64.random(in: range, using: &random) }
}
