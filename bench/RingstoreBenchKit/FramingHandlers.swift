import NIOCore
import NIOHTTP1

/// Turns `WireRequest.http` into HTTP/1.1 request parts and a whole response (head,
/// body, end) into one `WireReply`.
final class HTTPFramingHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = WireReply
    typealias OutboundIn = WireRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .http(let method, let uri, let headers, let body) = unwrapOutboundIn(data) else {
            preconditionFailure("an HTTP connection was asked to send a RESP request")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            self.head = nil
            context.fireChannelRead(
                wrapInboundOut(.http(status: Int(head.status.code), headers: head.headers, body: body)))
        }
    }
}

/// Sends `WireRequest.resp` bytes as they are and passes each decoded RESP value on.
final class RESPFramingHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias InboundOut = WireReply
    typealias OutboundIn = WireRequest
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .resp(let bytes, _) = unwrapOutboundIn(data) else {
            preconditionFailure("a RESP connection was asked to send an HTTP request")
        }
        context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.resp(unwrapInboundIn(data))))
    }
}
