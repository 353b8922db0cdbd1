import Foundation
import Replication
import RingstoreCore
import Synchronization
import Testing

@testable import RingstoreNode

/// Three leader-mode replicas of one partition in one process: their logs in storage,
/// fetches through an in-process transport that can cut a node off, timers that sleep,
/// and etcd's part played by `TestCoordination` (who leads in which epoch, the ISR,
/// guarded by the epoch).
@Suite struct LeaderReplicaTests {
    final class TestCoordination: LeaderCoordination {
        let state = Mutex<(leader: NodeID?, epoch: Epoch, inSync: Set<NodeID>)>((nil, .none, []))

        func proposeInSync(_ keyspace: KeyspaceName, partition: Int, members: Set<NodeID>, epoch: Epoch) async throws
            -> Bool
        {
            state.withLock { state in
                guard state.epoch == epoch else { return false }
                state.inSync = members
                return true
            }
        }

        func confirms(_ keyspace: KeyspaceName, partition: Int, me: NodeID, epoch: Epoch) async throws -> Bool {
            state.withLock { $0.leader == me && $0.epoch == epoch }
        }
    }

    /// Real-time timers for replicas under test (the server's run on its event loop).
    struct SleepingTimers: NodeTimers {
        final class Handle: TimerHandle {
            let task: Task<Void, Never>
            init(_ task: Task<Void, Never>) { self.task = task }
            func cancel() { task.cancel() }
        }

        func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
            Handle(
                Task {
                    guard (try? await Task.sleep(for: .milliseconds(Int(millis)))) != nil else { return }
                    body()
                })
        }
    }

    /// Fetches go nowhere: for a replica that never follows anyone.
    struct NoTransport: LeaderTransport {
        func fetch(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest,
            reply: @escaping @Sendable (Result<(FetchReply, [LeaderEntry]), RingstoreError>) -> Void
        ) { reply(.failure(RingstoreError(.unavailable, "no peers here"))) }

        func snapshot(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
            reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void
        ) { reply(.failure(RingstoreError(.unavailable, "no peers here"))) }
    }

    /// A replica of partition `partition` of `keyspace` among `replicas`.
    static func replica(
        _ id: NodeID, replicas: [NodeID], minInSync: Int, lag: Duration = .seconds(2), keyspace: KeyspaceName,
        partition: Int = 0, storage: any ReplicaStorage = InMemoryStorage(), coordination: any LeaderCoordination,
        transport: any LeaderTransport = NoTransport(), timers: any NodeTimers = SleepingTimers(),
        onLogCut: @escaping @Sendable (LeaderLogCut, UInt64) -> Void = { _, _ in }
    ) throws -> LeaderReplica {
        try LeaderReplica(
            configuration: LeaderReplicaConfiguration(me: id, replicas: replicas, minInSync: minInSync, lag: lag),
            keyspace: keyspace, partition: partition, storage: storage, coordination: coordination,
            transport: transport,
            timers: timers, nowMillis: now, onLogCut: onLogCut)
    }

    final class TestTransport: LeaderTransport {
        let replicas = Mutex<[NodeID: LeaderReplica]>([:])
        let cut = Mutex<Set<NodeID>>([])

        func fetch(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest,
            reply: @escaping @Sendable (Result<(FetchReply, [LeaderEntry]), RingstoreError>) -> Void
        ) {
            let (target, blocked) = (replicas.withLock { $0[leader] }, cut.withLock { $0 })
            guard let target, !blocked.contains(leader), !blocked.contains(request.follower) else {
                return reply(.failure(RingstoreError(.unavailable, "\(leader) is cut off")))
            }
            // A cut made while the fetch was held drops its answer too, as a partition would.
            target.fetch(request) { answer, entries in
                let blocked = self.cut.withLock { $0 }
                guard !blocked.contains(leader), !blocked.contains(request.follower) else {
                    return reply(.failure(RingstoreError(.unavailable, "\(leader) is cut off")))
                }
                reply(.success((answer, entries)))
            }
        }

        func snapshot(
            from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
            reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void
        ) {
            let (target, blocked) = (replicas.withLock { $0[leader] }, cut.withLock { $0 })
            guard let target, !blocked.contains(leader), !blocked.contains(request.follower) else {
                return reply(.failure(RingstoreError(.unavailable, "\(leader) is cut off")))
            }
            target.snapshot(request) { reply(.success($0)) }
        }
    }

    static let start = ContinuousClock.now
    static let now: @Sendable () -> UInt64 = {
        UInt64((ContinuousClock.now - LeaderReplicaTests.start) / .milliseconds(1)) + 1_000
    }

    /// Polls `condition` for up to 10 s.
    static func eventually(_ condition: () async -> Bool) async -> Bool {
        let end = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func writesReplicateFailOverTruncateAndConverge() async throws {
        let keyspace = try KeyspaceName(validating: "orders")
        let ids = [NodeID("n1"), NodeID("n2"), NodeID("n3")]
        let (n1, n2, n3) = (ids[0], ids[1], ids[2])
        let coordination = TestCoordination()
        let transport = TestTransport()
        var replicas: [NodeID: LeaderReplica] = [:]
        let cuts = Mutex<[(NodeID, LeaderLogCut)]>([])
        for id in ids {
            replicas[id] = try Self.replica(
                id, replicas: ids, minInSync: 2, keyspace: keyspace, coordination: coordination,
                transport: transport, onLogCut: { cut, _ in cuts.withLock { $0.append((id, cut)) } })
        }
        let all = replicas
        transport.replicas.withLock { $0 = all }
        let far = UInt64.max / 2
        let key = { (i: Int) in Array("k\(i)".utf8) }

        // n1 leads epoch 10.
        coordination.state.withLock { $0 = (n1, Epoch(10), Set(ids)) }
        replicas[n1]!.elected(Epoch(10), inSync: Set(ids), leaseValidUntil: far)
        for id in [n2, n3] { replicas[id]!.leaderIs(n1, epoch: Epoch(10)) }
        // Both followers fetching (on a busy machine this can take a moment).
        #expect(await Self.eventually { replicas[n1]!.status.lag.keys.count == 2 })
        var last = LogPosition.start
        for i in 0..<20 {
            let outcome = await replicas[n1]!.write(key: key(i % 5), value: Array("v\(i)".utf8), ack: .all)
            guard case .written(let position) = outcome else {
                Issue.record("write \(i): \(outcome)")
                return
            }
            #expect(position > last)
            last = position
        }
        let read = try await replicas[n1]!.read(key: key(4), level: .linearizable).get()
        #expect(read.value == Array("v19".utf8) && read.position == last)
        // Read-your-writes on a follower with the token.
        let followerRead = try await replicas[n3]!.read(key: key(4), level: .follower, after: last).get()
        #expect(followerRead.value == Array("v19".utf8))

        // Conditional writes.
        #expect(
            await replicas[n1]!.write(key: key(0), value: [1], ack: .all, condition: .absent)
                == .conditionFailed(current: LogPosition(epoch: Epoch(10), sequence: 17)))
        let conditional = await replicas[n1]!.write(
            key: key(0), value: [2], ack: .all, condition: .matches(LogPosition(epoch: Epoch(10), sequence: 17)))
        guard case .written = conditional else {
            Issue.record("If-Match with the current position: \(conditional)")
            return
        }

        // n1 is cut off; an ack=leader write lands in its log only.
        transport.cut.withLock { $0 = [n1] }
        let orphan = await replicas[n1]!.write(key: key(9), value: Array("lost".utf8), ack: .leader)
        guard case .written(let orphanPosition) = orphan else {
            Issue.record("ack=leader on the cut-off leader: \(orphan)")
            return
        }

        // n2 wins epoch 20 (n1's lease ran out); n1 is still in the ISR etcd holds, so
        // sync writes wait until n2 has removed it, then go on with n2 and n3.
        coordination.state.withLock { $0 = (n2, Epoch(20), Set(ids)) }
        replicas[n2]!.elected(Epoch(20), inSync: Set(ids), leaseValidUntil: far)
        replicas[n3]!.leaderIs(n2, epoch: Epoch(20))
        let afterFailover = await replicas[n2]!.write(
            key: key(1), value: Array("after".utf8), ack: .all, timeoutMillis: 30_000)
        guard case .written(let newPosition) = afterFailover else {
            Issue.record("ack=all after the failover: \(afterFailover)")
            return
        }
        #expect(newPosition.epoch == Epoch(20))
        #expect(coordination.state.withLock { $0.inSync } == [n2, n3])

        // n1 comes back, learns epoch 20, cuts its orphan entry and catches up.
        transport.cut.withLock { $0 = [] }
        replicas[n1]!.leaderIs(n2, epoch: Epoch(20))
        let converged = await Self.eventually {
            let leaderLast = replicas[n2]!.durable
            return replicas[n1]!.durable == leaderLast && replicas[n3]!.durable == leaderLast
                && (try? replicas[n1]!.contents()) == (try? replicas[n2]!.contents())
                && (try? replicas[n3]!.contents()) == (try? replicas[n2]!.contents())
        }
        #expect(converged, "n1 and n3 end with n2's state and log")
        #expect(try replicas[n1]!.contents()[key(9)]?.position != orphanPosition, "the orphan is gone")
        // n1 reported what it cut: the orphan, acknowledged ack=leader and lost.
        let reported = cuts.withLock { $0 }
        #expect(reported.contains { $0.0 == n1 && $0.1.writes.contains { $0.position == orphanPosition } })
        // Back in sync, n1 rejoins the ISR.
        #expect(await Self.eventually { coordination.state.withLock { $0.inSync } == Set(ids) })
        let status = replicas[n2]!.status
        #expect(status.leader == n2 && status.epoch == Epoch(20) && status.inSync == ids)
    }
}
