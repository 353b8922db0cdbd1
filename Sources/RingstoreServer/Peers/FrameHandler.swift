import NIOCore
import Wire

/// Turns a TCP byte stream into frames and frames into bytes. A protocol error (a frame
/// too long, of an unknown version) closes the connection: a peer that sends garbage is
/// not trusted further, and the node goes on.
final class FrameHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private var decoder: FrameDecoder

    init(frameBytesMax: Int) { decoder = FrameDecoder(frameBytesMax: frameBytesMax) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.feed(buffer.readableBytesView)
        do {
            while let frame = try decoder.next() { context.fireChannelRead(wrapInboundOut(frame)) }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame.encoded())), promise: promise)
    }
}
