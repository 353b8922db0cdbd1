import Foundation
import Logging
import NIOCore
import NIOPosix
import Replication
import RingstoreCore
import RingstoreNode
import RingstoreServer
import Testing

/// The SwiftNIO peer transport over real TCP on 127.0.0.1: requests and replies, per
/// request deadlines, backpressure, reconnection, and garbage from a peer.
@Suite struct PeerTransportTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let server = NodeID("server")

    /// A node (in-memory storage: this is about the transport) behind a listener on `port`.
    struct Listening {
        let node: Node
        let listener: PeerListener
        let task: Task<Void, any Error>
        let port: Int

        static func start(port: Int = 0) async throws -> Listening {
            let node = try Node(
                id: PeerTransportTests.server, storage: InMemoryStorage(),
                ring: try Ring(nodes: [PeerTransportTests.server]), logger: PeerTransportTests.logger,
                environment: NodeEnvironment(
                    wallMillis: { 1 }, network: NoPeers(),
                    timers: PeerClient.timers(group: MultiThreadedEventLoopGroup.singleton)))
            node.install(keyspaces: [Keyspace(name: try KeyspaceName(validating: "t"))])
            let listener = PeerListener(
                node: node, group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", port: port,
                logger: PeerTransportTests.logger, refreshCatalog: {})
            let task = Task { try await listener.run() }
            return Listening(node: node, listener: listener, task: task, port: try await listener.boundPort())
        }

        func stop() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    func send(_ client: PeerClient, _ request: PeerRequest, timeoutMillis: UInt32 = 2000) async -> Result<
        PeerReply, RingstoreError
    > {
        await withCheckedContinuation { continuation in
            client.send(request, to: Self.server, timeoutMillis: timeoutMillis) { continuation.resume(returning: $0) }
        }
    }

    static let object = ReplicaObject(policy: .lww).updated(
        value: Array("hello".utf8), contentType: "text/plain",
        timestamp: HybridTimestamp(physicalMillis: 5, logical: 0),
        context: .empty, replica: NodeID("w")
    ).object

    @Test func manyRequestsShareOneConnection() async throws {
        let listening = try await Listening.start()
        let client = PeerClient(group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger)
        client.update(addresses: [Self.server: ("127.0.0.1", listening.port)])
        #expect(try await send(client, .merge(keyspace: "t", key: [1], object: Self.object)).get() == .merged)
        let replies: [Result<PeerReply, RingstoreError>] = await withTaskGroup(
            of: Result<PeerReply, RingstoreError>.self
        ) { group in
            for _ in 0..<200 { group.addTask { await send(client, .read(keyspace: "t", key: [1])) } }
            var all: [Result<PeerReply, RingstoreError>] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(replies.allSatisfy { (try? $0.get()) == .object(Self.object) })
        let unknown = try await send(client, .read(keyspace: "nope", key: [1])).get()
        guard case .failed(let code, _, _, _) = unknown else {
            Issue.record("expected a failure, got \(unknown)")
            return
        }
        #expect(code == "unknown-keyspace")
        await listening.stop()
    }

    @Test func aSilentPeerTimesOutAndBackpressureRefusesBeyondTheWindow() async throws {
        // Accepts connections and never answers.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let client = PeerClient(group: MultiThreadedEventLoopGroup.singleton, inFlightMax: 4, logger: Self.logger)
        client.update(addresses: [Self.server: ("127.0.0.1", silent.localAddress!.port!)])
        // Four sends, then a fifth, all issued before any can finish: the link takes them in
        // this order, so the fifth finds the window of 4 full (they wait for their 2 s deadline).
        let (replies, answer) = AsyncStream.makeStream(of: (Int, Result<PeerReply, RingstoreError>).self)
        for index in 0..<5 {
            client.send(.read(keyspace: "t", key: [1]), to: Self.server, timeoutMillis: 2000) {
                answer.yield((index, $0))
            }
        }
        var results: [Result<PeerReply, RingstoreError>] = []
        var refusal: Result<PeerReply, RingstoreError>?
        for await (index, result) in replies {
            if index == 4 { refusal = result } else { results.append(result) }
            if results.count == 4 && refusal != nil { break }
        }
        guard case .failure(let refused) = refusal else {
            Issue.record("the fifth request was not refused: \(String(describing: refusal))")
            return
        }
        #expect(refused.detail.contains("in flight"))
        #expect(results.count == 4)
        for result in results {
            guard case .failure(let error) = result else {
                Issue.record("a request to a silent peer did not time out")
                continue
            }
            #expect(error.detail.contains("did not answer within 2000 ms"))
        }
        try await silent.close()
    }

    @Test func aPeerThatComesBackIsReachedAgain() async throws {
        let port = try await {
            let probe = try await Listening.start()
            let port = probe.port
            await probe.stop()
            return port
        }()
        let client = PeerClient(group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger)
        client.update(addresses: [Self.server: ("127.0.0.1", port)])
        guard case .failure = await send(client, .read(keyspace: "t", key: [1])) else {
            Issue.record("a request to a closed port succeeded")
            return
        }
        let back = try await Listening.start(port: port)
        // Reconnects once the backoff (at most 2 s) passed.
        let deadline = ContinuousClock.now + .seconds(10)
        var reached = false
        while ContinuousClock.now < deadline && !reached {
            if case .success(.object(nil)) = await send(client, .read(keyspace: "t", key: [1])) { reached = true }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(reached)
        await back.stop()
    }

    @Test func garbageFromAPeerClosesItsConnectionAndNothingElse() async throws {
        let listening = try await Listening.start()
        // A frame that claims 4 GiB, then one of an unknown version, then an unknown request kind.
        #expect(RawSocket.sendAndClose(port: listening.port, [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]) == 0)
        #expect(
            RawSocket.sendAndClose(port: listening.port, [10, 0, 0, 0, 99, 1] + [UInt8](repeating: 0, count: 8)) == 0)
        #expect(
            RawSocket.sendAndClose(port: listening.port, [10, 0, 0, 0, 1, 0x7E] + [UInt8](repeating: 0, count: 8)) == 0)
        let client = PeerClient(group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger)
        client.update(addresses: [Self.server: ("127.0.0.1", listening.port)])
        #expect(try await send(client, .read(keyspace: "t", key: [1])).get() == .object(nil))
        await listening.stop()
    }
}
