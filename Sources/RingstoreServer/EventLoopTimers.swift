import NIOCore
import RingstoreNode

/// The node's timers on SwiftNIO event loops.
struct EventLoopTimers: NodeTimers {
    let group: any EventLoopGroup

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) {
        group.next().scheduleTask(in: .milliseconds(Int64(millis))) { body() }
    }
}
