import Foundation
import NIOPosix
import Replication
import RingstoreCore
import RingstoreNode
import RingstoreServer
import Synchronization
import Testing

/// Three nodes' leader-mode replicas of one partition elect a leader through a real
/// etcd (leases, leader key, ISR) and fail over when the leader stops renewing its lease
/// as a killed process would. Replicas fetch in process (the TCP path is
/// `LeaderFetchTransportTests`).
@Suite struct PartitionLeadershipTests {
    final class Transport: LeaderTransport {
        let replicas = Mutex<[NodeID: LeaderReplica]>([:])
        let dead = Mutex<Set<NodeID>>([])

        func fetch(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest,
            reply: @escaping @Sendable (Result<(FetchReply, [LeaderEntry]), RingstoreError>) -> Void
        ) {
            let (target, down) = (replicas.withLock { $0[leader] }, dead.withLock { $0 })
            guard let target, !down.contains(leader), !down.contains(request.follower) else {
                return reply(.failure(RingstoreError(.unavailable, "\(leader) is down")))
            }
            target.fetch(request) { answer, entries in reply(.success((answer, entries))) }
        }

        func snapshot(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
            reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void
        ) {
            let (target, down) = (replicas.withLock { $0[leader] }, dead.withLock { $0 })
            guard let target, !down.contains(leader), !down.contains(request.follower) else {
                return reply(.failure(RingstoreError(.unavailable, "\(leader) is down")))
            }
            target.snapshot(request) { reply(.success($0)) }
        }
    }

    static func leaders(_ replicas: [NodeID: LeaderReplica]) async -> [NodeID: Epoch] {
        var leading: [NodeID: Epoch] = [:]
        for (id, replica) in replicas {
            let status = replica.status
            if status.leader == id { leading[id] = status.epoch }
        }
        return leading
    }

    @Test func aLeaderIsElectedInEtcdAndReplacedWhenItsLeaseRunsOut() async throws {
        let etcd = try EtcdProcess()
        let client = try await PartitionElectionTests.ready(etcd)
        let keyspace = try KeyspaceName(validating: "orders")
        let ids = [NodeID("n1"), NodeID("n2"), NodeID("n3")]
        let start = ContinuousClock.now
        let now: @Sendable () -> UInt64 = { UInt64((ContinuousClock.now - start) / .milliseconds(1)) + 1 }
        let election = try PartitionElectionTests.election(etcd)
        let transport = Transport()
        var replicas: [NodeID: LeaderReplica] = [:]
        var leases: [NodeID: LeadershipLease] = [:]
        for id in ids {
            replicas[id] = try LeaderReplica(
                configuration: LeaderReplicaConfiguration(me: id, replicas: ids, minInSync: 2, lag: .seconds(1)),
                keyspace: keyspace, partition: 0, storage: InMemoryStorage(), coordination: election,
                transport: transport,
                timers: PeerClient.timers(group: MultiThreadedEventLoopGroup.singleton), nowMillis: now)
            leases[id] = LeadershipLease(etcd: client, ttlSeconds: 2, nowMillis: now)
        }
        let all = replicas
        transport.replicas.withLock { $0 = all }
        // Per node: its lease renewals and its leadership rounds (the replica acts on what
        // they tell it, on fetches and on its timers). A node "killed" stops both without
        // revoking anything, and the transport cuts it off.
        var nodes: [NodeID: Task<Void, Never>] = [:]
        for id in ids {
            let registry = LeaderReplicas()
            registry.register(all[id]!)
            let leadership = PartitionLeadership(
                me: id, election: election, lease: leases[id]!, replicas: registry,
                hosted: { [.init(keyspace: keyspace, partition: 0, replicas: ids)] })
            let lease = leases[id]!
            nodes[id] = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !Task.isCancelled {
                            await lease.renew()
                            try? await Task.sleep(for: .milliseconds(500))
                        }
                    }
                    group.addTask { await leadership.run(interval: .milliseconds(50)) }
                }
            }
        }
        defer { for task in nodes.values { task.cancel() } }

        // One leader, in the epoch etcd gave it (a loaded machine may re-elect once or twice
        // before that holds still).
        var leading: [NodeID: Epoch] = [:]
        var named: Epoch?
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            leading = await Self.leaders(all)
            named = try? await election.leaders(keyspace)[0]?.epoch
            if leading.count == 1, named == leading.first?.value { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let (first, firstEpoch) = try #require(leading.first)
        #expect(leading.count == 1)
        #expect(named == firstEpoch)
        // Both followers fetching before the first sync write (a busy machine can delay them).
        let fetching = ContinuousClock.now + .seconds(10)
        while all[first]!.status.lag.count < 2, ContinuousClock.now < fetching {
            try await Task.sleep(for: .milliseconds(20))
        }
        // A client retries a refusal (nothing written) or an unknown outcome (the ISR shrank
        // under it): a lease renewal or a follower's fetch can lag on a busy machine.
        var firstWrite = await all[first]!.write(key: [1], value: [1], ack: .all)
        while firstWrite.isRetryable, ContinuousClock.now < fetching + .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
            firstWrite = await all[first]!.write(key: [1], value: [1], ack: .all)
        }
        guard case .written = firstWrite else {
            Issue.record("the first leader's write was not acknowledged: \(firstWrite)")
            return
        }

        // Kill the leader: no more renewals, rounds, fetch answers; its key outlives it
        // until its lease runs out in etcd.
        nodes[first]!.cancel()
        transport.dead.withLock { $0 = [first] }
        let killed = ContinuousClock.now
        var next: (NodeID, Epoch)?
        while ContinuousClock.now < killed + .seconds(30) {
            let now = await Self.leaders(all).filter { $0.key != first }
            if let found = now.first {
                next = (found.key, found.value)
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let (second, secondEpoch) = try #require(next)
        #expect(secondEpoch > firstEpoch)
        // A refusal wrote nothing and a client retries it: on a busy machine the new
        // leader's lease renewal or its ISR change can lag its election.
        var written = await all[second]!.write(key: [1], value: [2], ack: .all)
        while written.isRetryable, ContinuousClock.now < killed + .seconds(30) {
            try await Task.sleep(for: .milliseconds(50))
            written = await all[second]!.write(key: [1], value: [2], ack: .all)
        }
        guard case .written(let position) = written else {
            Issue.record("the new leader's write: \(written)")
            return
        }
        #expect(position.epoch == secondEpoch)
        let failover = ContinuousClock.now - killed
        print("leader failover (lease 2 s, ISR lag 1 s): \(failover) from the kill to an acknowledged ack=all write")
        // The dead leader, were it only paused, acknowledges nothing: its lease validity is over.
        let stale = await all[first]!.write(key: [1], value: [3], ack: .leader)
        #expect(stale == .refused(.leaseExpired) || stale == .notLeader(nil))
    }
}

extension LeaderWriteOutcome {
    /// What a client would retry: refused (nothing written) or of unknown outcome.
    var isRetryable: Bool {
        switch self {
        case .refused, .unknown: true
        default: false
        }
    }
}
