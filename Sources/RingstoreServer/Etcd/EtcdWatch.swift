import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A watch on a key prefix through etcd's JSON gateway (`POST /v3/watch`): the gateway
/// answers with a stream of JSON messages on one long HTTP response: first one saying
/// the watch was created, then one per batch of changes. The watch calls `onChange` for
/// each of them: the first too, because changes made before the watch existed are not
/// reported by it, so a read after it is in place misses nothing. It reconnects (after
/// a second) when the stream ends or etcd is unreachable, and calls `onChange` then too.
final class EtcdWatch: Sendable {
    let host: String
    let port: Int
    let key: [UInt8]
    let rangeEnd: [UInt8]
    let group: any EventLoopGroup
    let logger: Logger
    let onChange: @Sendable () -> Void

    init(
        host: String, port: Int, prefix: String, group: any EventLoopGroup, logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) {
        self.host = host
        self.port = port
        key = Array(prefix.utf8)
        rangeEnd = EtcdClient.prefixEnd(key)
        self.group = group
        self.logger = logger
        self.onChange = onChange
    }

    /// Watches until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                try await watchOnce()
            } catch {
                logger.debug("etcd watch interrupted", metadata: ["error": "\(error)"])
            }
            onChange()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func watchOnce() async throws {
        let body = try JSONSerialization.data(withJSONObject: [
            "create_request": [
                "key": Data(key).base64EncodedString(), "range_end": Data(rangeEnd).base64EncodedString(),
            ]
        ])
        let onChange = onChange
        let logger = logger
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(3))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        WatchStreamHandler(onChange: onChange, logger: logger))
                }
            }
            .connect(host: host, port: port)
            .get()
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v3/watch")
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// Reads the watch's response stream: every complete message may mean a change.
private final class WatchStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let onChange: @Sendable () -> Void
    let logger: Logger
    private var pending: [UInt8] = []

    init(onChange: @escaping @Sendable () -> Void, logger: Logger) {
        self.onChange = onChange
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where head.status != .ok:
            context.close(promise: nil)
        case .body(let buffer):
            pending += buffer.readableBytesView
            // Messages end with a newline; only complete ones are looked at.
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let message = pending[..<newline]
                pending.removeSubrange(...newline)
                if !message.isEmpty { onChange() }
                logger.debug("etcd watch message", metadata: ["bytes": "\(message.count)"])
            }
            if pending.count > 16 << 20 { context.close(promise: nil) }  // never a newline: not a watch stream
        case .end:
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
