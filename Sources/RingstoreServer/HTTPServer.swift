import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Counts requests whose response waits on a write, so shutdown can let them finish.
final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)
    func begin() { count.add(1, ordering: .relaxed) }
    func end() { count.subtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// The HTTP listener as a service: binds at start, and on graceful shutdown stops
/// accepting, waits (bounded) for in-flight writes, then closes.
public final class HTTPServer: Service, Sendable {
    let router: Router
    let metrics: HTTPMetrics
    let inFlight = InFlightRequests()
    let group: any EventLoopGroup
    let host: String
    let port: Int
    let bodyBytesMax: Int
    let logger: Logger
    private let bound = BoundAddress()

    init(
        router: Router, metrics: HTTPMetrics, group: any EventLoopGroup, host: String, port: Int, bodyBytesMax: Int,
        logger: Logger
    ) {
        self.router = router
        self.metrics = metrics
        self.group = group
        self.host = host
        self.port = port
        self.bodyBytesMax = bodyBytesMax
        self.logger = logger
    }

    /// The port actually bound (useful with port 0) once the service runs; throws the
    /// bind error if it could not listen, so nobody waits for a port that never comes.
    public func boundPort() async throws -> Int { try await bound.port() }

    public func run() async throws {
        let channel: Channel
        do {
            channel = try await bind()
        } catch {
            await bound.fail(error)
            throw error
        }
        let port = channel.localAddress?.port ?? port
        await bound.set(port)
        router.readiness.set(true)
        logger.info("listening", metadata: ["http": "\(host):\(port)"])
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
        router.readiness.set(false)
        // Let writes that were accepted finish before the store closes (bounded: 10 s).
        let deadline = ContinuousClock.now + .seconds(10)
        while inFlight.value > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        logger.info("stopped listening", metadata: ["unfinished": "\(inFlight.value)"])
    }

    private func bind() async throws -> Channel {
        let router = router
        let metrics = metrics
        let inFlight = inFlight
        let bodyBytesMax = bodyBytesMax
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Response headers are built here from validated input; re-validating each
                    // outbound header cost ~10% of a GET in profiles.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withServerUpgrade: nil, withErrorHandling: true,
                        withOutboundHeaderValidation: false
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPChannelHandler(
                            router: router, metrics: metrics, inFlight: inFlight, bodyBytesMax: bodyBytesMax)
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// The bound port, published once the listener is up.
actor BoundAddress {
    private var result: Result<Int, any Error>?
    private var waiters: [CheckedContinuation<Int, any Error>] = []

    func set(_ port: Int) { publish(.success(port)) }

    func fail(_ error: any Error) { publish(.failure(error)) }

    private func publish(_ outcome: Result<Int, any Error>) {
        result = outcome
        for waiter in waiters { waiter.resume(with: outcome) }
        waiters = []
    }

    func port() async throws -> Int {
        if let result { return try result.get() }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }
}
