import NIOCore
import NIOHTTP1

/// Collects one request (head, body up to the limit, end), hands it to the router and
/// writes the response. NIO's pipeline handler keeps pipelined requests in order.
final class HTTPChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private let metrics: HTTPMetrics
    private let inFlight: InFlightRequests
    private let bodyBytesMax: Int
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var rejected: HTTPResponse?
    private var startNanos: UInt64 = 0

    init(router: Router, metrics: HTTPMetrics, inFlight: InFlightRequests, bodyBytesMax: Int) {
        self.router = router
        self.metrics = metrics
        self.inFlight = inFlight
        self.bodyBytesMax = bodyBytesMax
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            rejected = nil
            startNanos = UptimeNanos.now()
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > bodyBytesMax {
                rejected = tooLarge(length)
            }
        case .body(var chunk):
            guard rejected == nil else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > bodyBytesMax {
                rejected = tooLarge(nil)
                body = nil
                return
            }
            body?.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    private func tooLarge(_ length: Int?) -> HTTPResponse {
        let size = length.map { "\($0) bytes" } ?? "larger than allowed"
        return Problem(
            status: .payloadTooLarge, code: "value-too-large",
            detail: "the body is \(size); the limit is \(bodyBytesMax) bytes"
        ).response()
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let route = Router.route(
            of: head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[..<$0]) } ?? head.uri)
        let keepAlive = head.isKeepAlive
        let start = startNanos
        if let rejected {
            // The body was not read: close the connection after answering.
            write(context: context, head: head, response: rejected, keepAlive: false, route: route, start: start)
            return
        }
        guard let target = HTTPRequest.parseTarget(head.uri) else {
            let problem = Problem(
                status: .badRequest, code: "invalid-parameter", detail: "the query string is not valid percent-encoding"
            )
            write(
                context: context, head: head, response: problem.response(), keepAlive: keepAlive, route: route,
                start: start)
            return
        }
        let request = HTTPRequest(
            route: route, method: head.method, path: target.path, query: target.query, headers: head.headers,
            body: body ?? context.channel.allocator.buffer(capacity: 0)
        )
        body = nil
        if let response = router.handleImmediately(request) {
            write(context: context, head: head, response: response, keepAlive: keepAlive, route: route, start: start)
            return
        }
        inFlight.begin()
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        router.handleDeferred(request) { [inFlight] response in
            // Usually called on the store's flusher thread: one hop back to the event loop.
            loop.execute {
                inFlight.end()
                let (handler, context) = bound.value
                handler.write(
                    context: context, head: head, response: response, keepAlive: keepAlive, route: route, start: start)
            }
        }
    }

    private func write(
        context: ChannelHandlerContext, head: HTTPRequestHead, response: HTTPResponse, keepAlive: Bool,
        route: Router.Route, start: UInt64
    ) {
        var headers = response.headers
        if headers.first(name: "Content-Length") == nil {
            headers.add(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if head.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if let body = response.body, head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        metrics.record(
            route: route, method: head.method, status: response.status, nanos: UptimeNanos.now() - start)
    }
}

/// Monotonic nanoseconds for request durations.
enum UptimeNanos {
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}
