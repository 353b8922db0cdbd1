import Logging
import NIOCore
import NIOPosix
import Replication
import RingstoreCore
import RingstoreNode
import ServiceLifecycle
import Wire

/// Answers peers: accepts their connections, decodes each request frame, hands it to
/// the node, and writes the reply with the request's id. Many requests share one
/// connection and are answered in whatever order they finish.
public final class PeerListener: Service, Sendable {
    let node: Node
    let group: any EventLoopGroup
    let host: String
    let port: Int
    let logger: Logger
    /// Reads the cluster's catalog again; a request for an unknown keyspace is retried
    /// once after it (the keyspace may have been created a moment ago).
    let refreshCatalog: @Sendable () async -> Void
    private let bound = BoundAddress()

    public init(
        node: Node, group: any EventLoopGroup, host: String, port: Int, logger: Logger,
        refreshCatalog: @escaping @Sendable () async -> Void
    ) {
        self.node = node
        self.refreshCatalog = refreshCatalog
        self.group = group
        self.host = host
        self.port = port
        self.logger = logger
    }

    public func boundPort() async throws -> Int { try await bound.port() }

    public func run() async throws {
        let node = node
        let logger = logger
        let refreshCatalog = refreshCatalog
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            FrameHandler(frameBytesMax: PeerLink.frameBytesMax))
                        try channel.pipeline.syncOperations.addHandler(
                            PeerRequestHandler(node: node, logger: logger, refreshCatalog: refreshCatalog))
                    }
                }
                .bind(host: host, port: port)
                .get()
        } catch {
            await bound.fail(error)
            throw error
        }
        await bound.set(channel.localAddress?.port ?? port)
        logger.info("listening for peers", metadata: ["peer": "\(host):\(channel.localAddress?.port ?? port)"])
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// One peer's connection on the answering side.
final class PeerRequestHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    let node: Node
    let logger: Logger
    let refreshCatalog: @Sendable () async -> Void

    init(node: Node, logger: Logger, refreshCatalog: @escaping @Sendable () async -> Void) {
        self.node = node
        self.logger = logger
        self.refreshCatalog = refreshCatalog
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let request = PeerCodec.request(frame) else {
            logger.warning(
                "closing a peer connection that sent an unreadable request", metadata: ["kind": "\(frame.kind)"])
            context.close(promise: nil)
            return
        }
        let writer: FrameWriter = replies
        let id = frame.requestID
        let send: @Sendable (PeerReply) -> Void = { reply in writer.write(PeerCodec.frame(reply, id: id)) }
        node.handle(request) { [node, refreshCatalog] reply in
            guard case .failed(let code, _, _, _) = reply, code == RingstoreError.Code.unknownKeyspace.name else {
                send(reply)
                return
            }
            Task {
                await refreshCatalog()
                node.handle(request, reply: send)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("peer connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func handlerAdded(context: ChannelHandlerContext) { replies = FrameWriter(channel: context.channel) }

    private var replies: FrameWriter!
}
