import Foundation
import Logging
import NIOCore
import NIOPosix
import Replication
import RingstoreCore
import RingstoreNode
import RingstoreServer
import Synchronization
import Testing

/// Leader-mode replication over the real peer transport (TCP on 127.0.0.1): the leader's
/// replica is hosted by a node behind a `PeerListener`, the follower fetches through a
/// `PeerClient`; etcd's part is played in memory (the election against a real etcd is
/// `PartitionElectionTests`).
@Suite struct LeaderFetchTransportTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    final class Coordination: LeaderCoordination {
        let leader: NodeID
        let epoch: Epoch
        init(leader: NodeID, epoch: Epoch) {
            self.leader = leader
            self.epoch = epoch
        }
        func proposeInSync(_ keyspace: KeyspaceName, partition: Int, members: Set<NodeID>, epoch: Epoch) async throws
            -> Bool
        { epoch == self.epoch }
        func confirms(_ keyspace: KeyspaceName, partition: Int, me: NodeID, epoch: Epoch) async throws -> Bool {
            me == leader && epoch == self.epoch
        }
    }

    @Test func syncWritesWaitForAFollowerFetchingOverTCP() async throws {
        let (n1, n2) = (NodeID("n1"), NodeID("n2"))
        let keyspace = try KeyspaceName(validating: "orders")
        let start = ContinuousClock.now
        let now: @Sendable () -> UInt64 = { UInt64((ContinuousClock.now - start) / .milliseconds(1)) + 1 }
        let coordination = Coordination(leader: n1, epoch: Epoch(5))

        // n1: a node behind a listener, hosting the leader's replica.
        let node = try Node(
            id: n1, storage: InMemoryStorage(), ring: try Ring(nodes: [n1]), logger: Self.logger,
            environment: NodeEnvironment(
                wallMillis: { 1 }, network: NoPeers(),
                timers: PeerClient.timers(group: MultiThreadedEventLoopGroup.singleton)))
        let timers = PeerClient.timers(group: MultiThreadedEventLoopGroup.singleton)
        let leader = try LeaderReplica(
            configuration: LeaderReplicaConfiguration(me: n1, replicas: [n1, n2], minInSync: 2, lag: .seconds(5)),
            keyspace: keyspace, partition: 2, storage: InMemoryStorage(), coordination: coordination,
            transport: NetworkLeaderTransport(network: NoPeers()), timers: timers, nowMillis: now)
        node.leaderReplicas.register(leader)
        let listener = PeerListener(
            node: node, group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", port: 0, logger: Self.logger,
            refreshCatalog: {})
        let listening = Task { try await listener.run() }
        defer { listening.cancel() }
        let port = try await listener.boundPort()

        // n2: a follower replica fetching through a PeerClient.
        let client = PeerClient(group: MultiThreadedEventLoopGroup.singleton, logger: Self.logger)
        client.update(addresses: [n1: ("127.0.0.1", port)])
        let follower = try LeaderReplica(
            configuration: LeaderReplicaConfiguration(me: n2, replicas: [n1, n2], minInSync: 2, lag: .seconds(5)),
            keyspace: keyspace, partition: 2, storage: InMemoryStorage(), coordination: coordination,
            transport: NetworkLeaderTransport(network: client), timers: timers, nowMillis: now)

        leader.elected(Epoch(5), inSync: [n1, n2], leaseValidUntil: .max / 2)
        follower.leaderIs(n1, epoch: Epoch(5))
        var positions: [LogPosition] = []
        for i in 0..<50 {
            // ack=all: acknowledged only once n2 fetched the entry over TCP.
            guard case .written(let position) = await leader.write(key: [UInt8(i % 7)], value: [UInt8(i)], ack: .all)
            else {
                Issue.record("write \(i) was not acknowledged")
                return
            }
            positions.append(position)
        }
        // The epoch's first entry (sequence 1) comes before the writes.
        #expect(positions.map(\.sequence) == Array(2...51))
        #expect(follower.durable == 51)
        #expect(try follower.contents() == leader.contents())
        // The follower answers a read-your-writes read with the last token.
        let read = try await follower.read(key: [UInt8(49 % 7)], level: .follower, after: positions.last!).get()
        #expect(read.value == [49])
        // A fetch for a partition the node does not host is refused, not crashed on.
        let stray = await withCheckedContinuation { continuation in
            client.send(
                .leaderFetch(keyspace: "orders", partition: 9, FetchRequest(follower: n2, epoch: .none, last: .start)),
                to: n1, timeoutMillis: 2000
            ) { continuation.resume(returning: $0) }
        }
        guard case .success(.failed(let code, _, _, _)) = stray else {
            Issue.record("a stray fetch got \(stray)")
            return
        }
        #expect(code == "unknown-keyspace")
    }
}
