import Logging
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization
import Testing

/// A network whose requests wait until the test answers them.
final class HeldNetwork: PeerNetwork, Sendable {
    typealias Sent = (request: PeerRequest, to: NodeID, reply: @Sendable (Result<PeerReply, RingstoreError>) -> Void)
    private let sent = Mutex<[Sent]>([])

    func send(
        _ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32,
        reply: @escaping @Sendable (Result<PeerReply, RingstoreError>) -> Void
    ) {
        sent.withLock { $0.append((request, node, reply)) }
    }

    /// Everything sent since the last call.
    func take() -> [Sent] {
        sent.withLock { sent in
            defer { sent = [] }
            return sent
        }
    }
}

/// Timers that run only when the test fires them.
final class ManualTimers: NodeTimers, Sendable {
    private let due = Mutex<[@Sendable () -> Void]>([])

    struct Handle: TimerHandle { func cancel() {} }

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
        due.withLock { $0.append(body) }
        return Handle()
    }

    func fire() {
        let bodies = due.withLock { due in
            defer { due = [] }
            return due
        }
        for body in bodies { body() }
    }
}

/// A fallback keeps a hint durably, hands it to its owner, and deletes it only once the
/// owner acknowledged it and no newer hint merged into it meanwhile.
@Suite struct HintedHandoffTests {
    let n1 = NodeID("n1"), n2 = NodeID("n2"), n3 = NodeID("n3")

    func object(_ value: UInt8, by actor: String) -> ReplicaObject {
        ReplicaObject(policy: .vv).updated(
            value: [value], contentType: nil, timestamp: .zero, context: .empty, replica: NodeID(actor)
        ).object
    }

    /// The preference list of key [7] of keyspace `k`.
    func preferenceList(_ ring: Ring) throws -> [NodeID] {
        ring.preferenceList(ring.partition(keyspace: try KeyspaceName(validating: "k"), key: try Key(validating: [7])))
    }

    @Test func aHintLeavesOnlyAfterItsOwnerAcknowledgedTheNewestVersion() throws {
        let network = HeldNetwork()
        let timers = ManualTimers()
        let hints = HeldStorage()
        // Three nodes, N = 1: the key's owner is the first in its preference list, the
        // second a fallback for it.
        let ring = try Ring(partitionCount: 4, nodes: [n1, n2, n3])
        let preference = try preferenceList(ring)
        let owner = preference[0]
        let fallback = preference[1]
        let node = try Node(
            id: fallback, storage: HeldStorage(), ring: ring,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: NodeEnvironment(wallMillis: { 1000 }, network: network, timers: timers),
            hintStorage: hints)
        node.install(keyspaces: [Keyspace(name: try KeyspaceName(validating: "k"), conflict: .vv)])

        let answered = Mutex<[PeerReply]>([])
        node.handle(.hint(owner: owner, keyspace: "k", key: [7], object: object(1, by: "a.1"))) { reply in
            answered.withLock { $0.append(reply) }
        }
        #expect(answered.withLock { $0 }.isEmpty, "a hint is acknowledged only once durable")
        hints.flush()
        #expect(answered.withLock { $0 } == [.merged])

        timers.fire()
        let first = network.take()
        #expect(first.count == 1)
        guard case .merge(_, _, let replayed)? = first.first?.request else {
            Issue.record("expected the hint replayed as a merge, got \(first.map(\.request))")
            return
        }
        #expect(first.first?.to == owner)

        // A newer write for the owner merges into the hint while the replay is in flight.
        node.handle(.hint(owner: owner, keyspace: "k", key: [7], object: object(2, by: "b.1"))) { _ in }
        hints.flush()
        first[0].reply(.success(.merged))
        hints.flush()
        #expect(hints.keys(withPrefix: []).count == 1, "the merged hint holds a write the owner has not seen")

        timers.fire()
        let second = network.take()
        guard case .merge(_, _, let newer)? = second.first?.request else {
            Issue.record("expected the merged hint replayed, got \(second.map(\.request))")
            return
        }
        #expect(newer == replayed.merged(with: object(2, by: "b.1")))
        second[0].reply(.failure(RingstoreError(.unavailable, "owner down")))
        #expect(hints.keys(withPrefix: []).count == 1, "a failed replay keeps the hint")
        #expect(node.hintBacklog == [owner: 1])
    }

    @Test func aHintForANodeThatDoesNotOwnTheKeyIsRefused() throws {
        let ring = try Ring(partitionCount: 4, nodes: [n1, n2, n3])
        let preference = try preferenceList(ring)
        let node = try Node(
            id: preference[1], storage: HeldStorage(), ring: ring,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: NodeEnvironment(wallMillis: { 1000 }, network: HeldNetwork(), timers: ManualTimers()),
            hintStorage: HeldStorage())
        node.install(keyspaces: [Keyspace(name: try KeyspaceName(validating: "k"), conflict: .vv)])
        let answered = Mutex<PeerReply?>(nil)
        node.handle(.hint(owner: preference[2], keyspace: "k", key: [7], object: object(1, by: "a.1"))) { reply in
            answered.withLock { $0 = reply }
        }
        guard case .failed(let code, _, _, _)? = answered.withLock({ $0 }) else {
            Issue.record("a hint for a non-owner was accepted")
            return
        }
        #expect(code == "invalid-parameter")
    }
}
