import NIOCore
import Wire

/// Writes frames to one peer connection from any thread, with one flush for all the
/// frames written in one event loop tick (batching). Both sides use it: the link for
/// requests, the listener for replies. Its state is touched only on the channel's loop.
final class FrameWriter: @unchecked Sendable {
    let channel: any Channel
    private var flushScheduled = false

    init(channel: any Channel) { self.channel = channel }

    func write(_ frame: Frame) {
        if channel.eventLoop.inEventLoop {
            writeOnLoop(frame)
        } else {
            channel.eventLoop.execute { self.writeOnLoop(frame) }
        }
    }

    private func writeOnLoop(_ frame: Frame) {
        channel.write(frame, promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        channel.eventLoop.execute {
            self.flushScheduled = false
            self.channel.flush()
        }
    }
}
