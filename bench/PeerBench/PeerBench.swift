import Foundation
import Logging
import NIOPosix
import Replication
import RingstoreCore
import RingstoreNode
import RingstoreServer
import Synchronization

/// `ringstore-peer-bench`: what the peer transport sustains between two processes.
///
/// `serve PORT` runs a node's `PeerListener` over a node whose storage is in memory (the
/// bench measures the transport, not the disk), holding one key with a 100-byte value.
/// `load PORT WINDOW SECONDS` sends `read` requests for that key through a `PeerClient`
/// with WINDOW requests in flight and prints replies per second.
@main
enum PeerBench {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let mode = arguments.first, let port = arguments.dropFirst().first.flatMap({ Int($0) }) else {
            print("usage: ringstore-peer-bench serve PORT | load PORT WINDOW SECONDS")
            return
        }
        let logger = Logger(label: "peer-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let group = MultiThreadedEventLoopGroup.singleton
        if mode == "serve" {
            let server = NodeID("server")
            let node = try Node(
                id: server, storage: InMemoryStorage(), ring: try Ring(nodes: [server]), logger: logger,
                environment: NodeEnvironment(
                    wallMillis: { UInt64(Date().timeIntervalSince1970 * 1000) }, network: NoPeers(),
                    timers: PeerClient.timers(group: group)))
            let keyspace = Keyspace(name: try KeyspaceName(validating: "bench"))
            node.install(keyspaces: [keyspace])
            let value = ReplicaObject(policy: .lww).updated(
                value: [UInt8](repeating: 118, count: 100), contentType: nil, timestamp: .zero, context: .empty,
                replica: server
            ).object
            node.handle(.merge(keyspace: "bench", key: Array("k".utf8), object: value)) { _ in }
            let listener = PeerListener(
                node: node, group: group, host: "127.0.0.1", port: port, logger: logger, refreshCatalog: {})
            print("serving peers on 127.0.0.1:\(port)")
            try await listener.run()
        } else {
            let window = arguments.dropFirst(2).first.flatMap { Int($0) } ?? 64
            let seconds = arguments.dropFirst(3).first.flatMap { Int($0) } ?? 5
            let client = PeerClient(group: group, logger: logger)
            client.update(addresses: [NodeID("server"): ("127.0.0.1", port)])
            let completed = Atomic<Int>(0)
            let failed = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
            @Sendable func issue() {
                guard !stop.load(ordering: .relaxed) else { return }
                client.send(.read(keyspace: "bench", key: Array("k".utf8)), to: NodeID("server"), timeoutMillis: 5000) {
                    reply in
                    if case .success(.object(.some)) = reply {
                        completed.add(1, ordering: .relaxed)
                    } else {
                        failed.add(1, ordering: .relaxed)
                    }
                    issue()
                }
            }
            // Warm up (connect), then measure.
            for _ in 0..<window { issue() }
            try await Task.sleep(for: .seconds(1))
            let start = completed.load(ordering: .relaxed)
            let began = ContinuousClock.now
            try await Task.sleep(for: .seconds(seconds))
            let done = completed.load(ordering: .relaxed) - start
            let elapsed = ContinuousClock.now - began
            stop.store(true, ordering: .relaxed)
            let perSecond =
                Double(done) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            print("window \(window): \(Int(perSecond)) replies/s, \(failed.load(ordering: .relaxed)) failed")
        }
    }
}
