import Logging
import NIOCore
import NIOPosix
import Replication
import RingstoreCore
import Wire

/// This node's connection to one peer: many requests in flight on one TCP connection,
/// told apart by request id; a deadline per request; a bound on requests in flight (a
/// request beyond it fails at once: backpressure instead of an unbounded queue); and
/// reconnection with exponential backoff after the connection fails.
///
/// Every field is touched only on `loop`, so the link needs no lock.
final class PeerLink: @unchecked Sendable {
    typealias Reply = @Sendable (Result<PeerReply, RingstoreError>) -> Void

    /// Largest frame a peer may send: an object of many siblings at the value limit.
    static let frameBytesMax = 256 * 1024 * 1024

    let peer: NodeID
    let loop: any EventLoop
    let logger: Logger
    let inFlightMax: Int
    private(set) var address: (host: String, port: Int)

    private enum State {
        case idle
        case connecting([(Frame, UInt64)])
        case connected(FrameWriter)
        /// Failed; no attempt before `until`.
        case backingOff(until: NIODeadline)
    }

    private var state = State.idle
    private var pending: [UInt64: (reply: Reply, deadline: NIODeadline, timeoutMillis: UInt32)] = [:]
    /// One sweep of expired requests every 10 ms while any are pending, instead of a
    /// timer per request (a scheduled task each costs a heap insert and a cancel).
    private var sweepScheduled = false
    private var nextID: UInt64 = 1
    private var backoff: TimeAmount = .milliseconds(50)

    init(peer: NodeID, host: String, port: Int, loop: any EventLoop, inFlightMax: Int = 4096, logger: Logger) {
        self.peer = peer
        self.address = (host, port)
        self.loop = loop
        self.inFlightMax = inFlightMax
        self.logger = logger
    }

    /// Points the link at a new address (the peer re-registered); the old connection closes.
    func move(host: String, port: Int) {
        loop.execute { [self] in
            guard address != (host, port) else { return }
            address = (host, port)
            if case .connected(let writer) = state { writer.channel.close(promise: nil) }
            state = .idle
            backoff = .milliseconds(50)
        }
    }

    func send(_ request: PeerRequest, timeoutMillis: UInt32, reply: @escaping Reply) {
        loop.execute { [self] in sendOnLoop(request, timeoutMillis: timeoutMillis, reply: reply) }
    }

    private func sendOnLoop(_ request: PeerRequest, timeoutMillis: UInt32, reply: @escaping Reply) {
        guard pending.count < inFlightMax else {
            reply(.failure(RingstoreError(.unavailable, "\(inFlightMax) requests already in flight to \(peer)")))
            return
        }
        if case .backingOff(let until) = state {
            guard NIODeadline.now() >= until else {
                reply(.failure(RingstoreError(.unavailable, "\(peer) is unreachable (reconnecting)")))
                return
            }
            state = .idle
        }
        let id = nextID
        nextID += 1
        pending[id] = (reply, .now() + .milliseconds(Int64(timeoutMillis)), timeoutMillis)
        scheduleSweep()
        let frame = PeerCodec.frame(request, id: id)
        switch state {
        case .connected(let writer):
            writer.write(frame)
        case .connecting(var queued):
            queued.append((frame, id))
            state = .connecting(queued)
        case .idle, .backingOff:
            state = .connecting([(frame, id)])
            connect()
        }
    }

    private func scheduleSweep() {
        guard !sweepScheduled else { return }
        sweepScheduled = true
        loop.scheduleTask(in: .milliseconds(10)) { [self] in
            sweepScheduled = false
            let now = NIODeadline.now()
            let expired = pending.filter { $0.value.deadline <= now }
            for (id, entry) in expired {
                pending.removeValue(forKey: id)
                entry.reply(
                    .failure(RingstoreError(.unavailable, "\(peer) did not answer within \(entry.timeoutMillis) ms")))
            }
            if !pending.isEmpty { scheduleSweep() }
        }
    }

    private func connect() {
        let (host, port) = address
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FrameHandler(frameBytesMax: PeerLink.frameBytesMax))
                    try channel.pipeline.syncOperations.addHandler(PeerReplyHandler(link: self))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                loop.preconditionInEventLoop()
                guard case .connecting(let queued) = state else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel):
                    let writer = FrameWriter(channel: channel)
                    state = .connected(writer)
                    backoff = .milliseconds(50)
                    for (frame, id) in queued where pending[id] != nil { writer.write(frame) }
                case .failure(let error):
                    failAll("cannot connect to \(peer) at \(host):\(port): \(error)")
                }
            }
    }

    /// The connection failed or closed: every request on it fails, and the next send
    /// waits out the backoff (doubling up to 2 s).
    fileprivate func connectionLost(_ reason: String) {
        loop.preconditionInEventLoop()
        failAll(reason)
    }

    private func failAll(_ reason: String) {
        state = .backingOff(until: .now() + backoff)
        backoff = min(backoff * 2, .seconds(2))
        let failed = pending
        pending = [:]
        for (_, entry) in failed {
            entry.reply(.failure(RingstoreError(.unavailable, reason)))
        }
        logger.debug("peer link down", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
    }

    fileprivate func received(_ frame: Frame) {
        loop.preconditionInEventLoop()
        guard let entry = pending.removeValue(forKey: frame.requestID) else { return }  // late: timed out
        guard let reply = PeerCodec.reply(frame) else {
            entry.reply(.failure(RingstoreError(.unavailable, "\(peer) sent an unreadable reply")))
            return
        }
        entry.reply(.success(reply))
    }
}

/// The replies of one peer connection, handed to its link.
private final class PeerReplyHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    let link: PeerLink

    init(link: PeerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.connectionLost("the connection to \(link.peer) closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
