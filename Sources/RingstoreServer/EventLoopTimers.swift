import NIOCore
import NIOPosix
import RingstoreNode
import Synchronization

/// The node's timers on a SwiftNIO event loop, swept every 10 ms: request deadlines are
/// many and almost always cancelled, so one list and one periodic sweep cost less than
/// a scheduled task (heap insert, cancel, cross-thread wake-up) per request. A timer
/// fires up to 10 ms late.
final class EventLoopTimers: NodeTimers, Sendable {
    let loop: any EventLoop
    private let state = Mutex<(entries: [Entry], sweeping: Bool)>(([], false))

    private struct Entry: Sendable {
        var deadline: NIODeadline
        var timer: SweptTimer
        var body: @Sendable () -> Void
    }

    init(group: any EventLoopGroup) { loop = group.next() }

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
        let timer = SweptTimer()
        let startSweep = state.withLock { state in
            state.entries.append(Entry(deadline: .now() + .milliseconds(Int64(millis)), timer: timer, body: body))
            defer { state.sweeping = true }
            return !state.sweeping
        }
        if startSweep { scheduleSweep() }
        return timer
    }

    private func scheduleSweep() {
        loop.scheduleTask(in: .milliseconds(10)) { [self] in
            let now = NIODeadline.now()
            let (due, goOn) = state.withLock { state -> ([Entry], Bool) in
                var due: [Entry] = []
                state.entries.removeAll { entry in
                    if entry.timer.isCancelled { return true }
                    guard entry.deadline <= now else { return false }
                    due.append(entry)
                    return true
                }
                // Decided under the lock, so `after` starts a new sweep exactly when this one stops.
                state.sweeping = !state.entries.isEmpty
                return (due, state.sweeping)
            }
            for entry in due where !entry.timer.isCancelled { entry.body() }
            if goOn { scheduleSweep() }
        }
    }
}

/// A swept timer: cancelling marks it, and the next sweep drops it.
final class SweptTimer: TimerHandle, Sendable {
    private let cancelled = Atomic(false)

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() { cancelled.store(true, ordering: .releasing) }
}
