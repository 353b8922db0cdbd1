import NIOCore
import RingstoreNode

/// The node's timers on SwiftNIO event loops.
struct EventLoopTimers: NodeTimers {
    let group: any EventLoopGroup

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
        ScheduledTimer(task: group.next().scheduleTask(in: .milliseconds(Int64(millis))) { body() })
    }
}

/// A task scheduled on an event loop, as a node's timer.
struct ScheduledTimer: TimerHandle {
    let task: Scheduled<Void>

    func cancel() { task.cancel() }
}
