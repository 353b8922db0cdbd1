import NIOCore
import NIOPosix
import RingstoreNode

/// The node's timers on SwiftNIO event loops.
struct EventLoopTimers: NodeTimers {
    let group: any EventLoopGroup

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
        // On the calling thread's own loop when it is one: no wake-up of another thread.
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        return ScheduledTimer(task: loop.scheduleTask(in: .milliseconds(Int64(millis))) { body() })
    }
}

/// A task scheduled on an event loop, as a node's timer.
struct ScheduledTimer: TimerHandle {
    let task: Scheduled<Void>

    func cancel() { task.cancel() }
}
