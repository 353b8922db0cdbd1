import Logging
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization
import Testing

/// A leader-mode keyspace in a node's catalog: cached across a restart with its
/// `min_in_sync` and `ack`, refused on a node without etcd, and kept apart from the
/// leaderless paths whatever a peer sends.
@Suite struct LeaderCatalogTests {
    let id = NodeID("n1")
    let orders = Keyspace(
        name: try! KeyspaceName(validating: "orders"), mode: .leader, replicationFactor: 1, minInSync: 1, ack: .leader)

    func node(_ storage: InMemoryStorage) throws -> Node {
        try Node(
            id: id, storage: storage, ring: try Ring(nodes: [id]),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            environment: NodeEnvironment(wallMillis: { 1 }, network: NoPeers(), timers: NoTimers()))
    }

    @Test func aLeaderKeyspaceIsCachedAcrossARestart() async throws {
        let storage = InMemoryStorage()
        let first = try node(storage)
        first.install(keyspaces: [orders])
        let again = try node(storage)
        #expect(try again.keyspace(named: "orders") == orders)
    }

    @Test func aNodeWithoutEtcdRefusesLeaderMode() async throws {
        let node = try node(InMemoryStorage())
        await #expect {
            _ = try await node.createKeyspace(orders)
        } throws: { error in
            (error as? RingstoreError)?.detail.contains("etcd") == true
        }
    }

    @Test func leaderlessRequestsForALeaderKeyspaceAreRefused() async throws {
        let node = try node(InMemoryStorage())
        node.install(keyspaces: [orders])
        let answer = Mutex<PeerReply?>(nil)
        node.handle(.read(keyspace: "orders", key: [1])) { reply in answer.withLock { $0 = reply } }
        guard case .failed(let code, let detail, _, _) = answer.withLock({ $0 }) else {
            Issue.record("a leaderless read of a leader keyspace was answered")
            return
        }
        #expect(code == RingstoreError.Code.invalidParameter.name && detail.contains("leader mode"))
        // A peer's extreme deadline is clamped, not trusted (it would overflow).
        let partition = try Ring(nodes: [id]).partition(keyspace: orders.name, key: try Key(validating: [1])).index
        node.leaderReplicas.register(
            try LeaderReplicaTests.replica(
                id, replicas: [id], minInSync: 1, keyspace: orders.name, partition: partition,
                coordination: LeaderReplicaTests.TestCoordination()))
        let far = try await node.leaderRead(
            LeaderReadRequest(keyspace: "orders", key: [1], level: .follower, after: nil, timeoutMillis: .max),
            forwarded: true
        ).replica
        #expect(far == id)
        await #expect {
            _ = try await node.leaderWrite(
                LeaderWriteRequest(
                    keyspace: "orders", key: [1], value: [2], ack: nil, condition: nil, timeoutMillis: .max))
        } throws: { error in
            // The replica follows (no election without etcd) and no leader is known.
            (error as? RingstoreError)?.code == .unavailable
        }
    }
}
