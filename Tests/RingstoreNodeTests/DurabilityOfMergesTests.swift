import Logging
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization
import Testing

/// Storage whose writes become durable only when the test says so.
final class HeldStorage: ReplicaStorage, Sendable {
    private let state = Mutex<(values: [[UInt8]: [UInt8]], held: [@Sendable (RingstoreError?) -> Void])>(([:], []))

    func read(_ key: [UInt8]) throws(RingstoreError) -> [UInt8]? { state.withLock { $0.values[key] } }

    func write(_ key: [UInt8], _ value: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        state.withLock {
            $0.values[key] = value
            $0.held.append(completion)
        }
    }

    func delete(_ key: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        state.withLock {
            $0.values[key] = nil
            $0.held.append(completion)
        }
    }

    func keys(withPrefix prefix: [UInt8]) -> [[UInt8]] {
        state.withLock { $0.values.keys.filter { $0.starts(with: prefix) } }
    }

    /// Makes every write so far durable, or fails them all.
    func flush(_ error: RingstoreError? = nil) {
        let held = state.withLock { state in
            defer { state.held = [] }
            return state.held
        }
        for completion in held { completion(error) }
    }
}

struct NoTimers: NodeTimers {
    struct Handle: TimerHandle { func cancel() {} }
    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle { Handle() }
}

/// A replica acknowledges a merge only once what it merged is durable, duplicates of a
/// replication message included (the network may deliver one twice).
@Suite struct DurabilityOfMergesTests {
    func node(_ storage: HeldStorage) throws -> Node {
        let id = NodeID("n1")
        let node = try Node(
            id: id, storage: storage, ring: try Ring(nodes: [id]),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: NodeEnvironment(wallMillis: { 1 }, network: NoPeers(), timers: NoTimers()))
        node.install(keyspaces: [Keyspace(name: try KeyspaceName(validating: "k"), conflict: .vv)])
        storage.flush()
        return node
    }

    let object = ReplicaObject(policy: .vv).updated(
        value: [1], contentType: nil, timestamp: .zero, context: .empty, replica: NodeID("n2.1")
    ).object

    /// Delivers the same replication message `times` times; `reply` gets each answer.
    func merge(into node: Node, times: Int, reply: @escaping @Sendable (PeerReply) -> Void) {
        for _ in 0..<times { node.handle(.merge(keyspace: "k", key: [7], object: object), reply: reply) }
    }

    @Test func aDuplicateMergeIsAcknowledgedOnlyWhenTheOriginalIsDurable() throws {
        let storage = HeldStorage()
        let node = try node(storage)
        let replies = Mutex<[PeerReply]>([])
        merge(into: node, times: 2) { reply in replies.withLock { $0.append(reply) } }
        #expect(replies.withLock { $0 }.isEmpty, "nothing is durable yet, so nothing is acknowledged")
        storage.flush()
        #expect(replies.withLock { $0 } == [.merged, .merged])
        // With nothing in flight, a duplicate is acknowledged at once.
        merge(into: node, times: 1) { reply in replies.withLock { $0.append(reply) } }
        #expect(replies.withLock { $0 }.count == 3)
    }

    @Test func aFailedWriteFailsTheDuplicatesWaitingOnIt() throws {
        let storage = HeldStorage()
        let node = try node(storage)
        let replies = Mutex<[PeerReply]>([])
        merge(into: node, times: 2) { reply in replies.withLock { $0.append(reply) } }
        storage.flush(RingstoreError(.storage, "disk gone"))
        let got = replies.withLock { $0 }
        #expect(got.count == 2)
        #expect(got.allSatisfy { if case .failed = $0 { true } else { false } })
    }
}
