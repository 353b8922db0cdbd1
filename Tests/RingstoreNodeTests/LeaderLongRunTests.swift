import Foundation
import LogStore
import Logging
import Replication
import RingstoreCore
import Synchronization
import Testing

@testable import RingstoreNode

/// A leader-mode partition under endless overwrites, on real LogStores: the log is
/// trimmed once applied (down to the retention budget while a follower is away), so the
/// store holds the state plus the budget; the follower that was away comes back through
/// a snapshot; and a restart reads the state's mark and the log's unapplied tail only.
@Suite(.serialized) struct LeaderLongRunTests {
    static let keys = 1000
    static let overwrites = Int(ProcessInfo.processInfo.environment["RINGSTORE_LONG_RUN_WRITES"] ?? "") ?? 500_000
    static let budget = 256 << 10

    final class Tally: Sendable {
        let written = Mutex(0)
        let failures = Mutex<[LeaderWriteOutcome]>([])
    }

    static func open(_ directory: String) throws -> LogStore {
        var configuration = LogStoreConfiguration(directory: directory, syncPolicy: .none, segmentBytesMax: 1 << 20)
        configuration.preallocateBytes = 0
        var logger = Logger(label: "test")
        logger.logLevel = .warning  // a compaction every 200 ms would fill the test output
        return try LogStore(configuration: configuration, logger: logger)
    }

    static func replica(
        _ id: NodeID, _ ids: [NodeID], storage: any ReplicaStorage, coordination: any LeaderCoordination,
        transport: any LeaderTransport
    ) throws -> LeaderReplica {
        var configuration = LeaderReplicaConfiguration(me: id, replicas: ids, minInSync: 1, lag: .seconds(2))
        configuration.logRetainBytes = budget
        return try LeaderReplica(
            configuration: configuration, keyspace: try KeyspaceName(validating: "orders"), partition: 0,
            storage: storage, coordination: coordination, transport: transport,
            timers: LeaderReplicaTests.SleepingTimers(), nowMillis: LeaderReplicaTests.now)
    }

    @Test func overwritesStayBoundedAFollowerComesBackThroughASnapshotAndRestartReadsOnlyTheTail() async throws {
        let root = NSTemporaryDirectory() + "leader-long-run-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ids = [NodeID("n1"), NodeID("n2"), NodeID("n3")]
        var stores: [NodeID: LogStore] = [:]
        for id in ids { stores[id] = try Self.open("\(root)/\(id)") }
        defer { for store in stores.values { store.close() } }
        let coordination = LeaderReplicaTests.TestCoordination()
        let transport = LeaderReplicaTests.TestTransport()
        var replicas: [NodeID: LeaderReplica] = [:]
        for id in ids {
            replicas[id] = try Self.replica(
                id, ids, storage: LogStoreStorage(stores[id]!), coordination: coordination, transport: transport)
        }
        let all = replicas
        transport.replicas.withLock { $0 = all }
        let (n1, n2, n3) = (ids[0], ids[1], ids[2])
        let leader = replicas[n1]!
        coordination.state.withLock { $0 = (n1, Epoch(1), Set(ids)) }
        leader.elected(Epoch(1), inSync: Set(ids), leaseValidUntil: .max / 2)
        for id in [n2, n3] { replicas[id]!.leaderIs(n1, epoch: Epoch(1)) }

        // n3 is away for the whole run: the leader keeps what it lacks only up to the budget.
        transport.cut.withLock { $0 = [n3] }
        let running = Array(stores.values)
        let tally = Tally()
        // Enough writers for group commits to batch, few enough not to starve the suites
        // that run beside this one on two cores.
        let workers = 16
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var i = worker
                    while i < Self.overwrites {
                        let value = Array("value \(i) ".utf8) + [UInt8](repeating: UInt8(i % 251), count: 48)
                        let outcome = await leader.write(
                            key: Array("key-\(i % Self.keys)".utf8), value: value, ack: .all, timeoutMillis: 30_000)
                        if case .written = outcome {
                            tally.written.withLock { $0 += 1 }
                        } else {
                            tally.failures.withLock { $0.append(outcome) }
                        }
                        i += workers
                    }
                }
            }
            // Compaction runs alongside, as the node's maintenance does.
            group.addTask {
                while tally.written.withLock({ $0 }) + tally.failures.withLock({ $0.count }) < Self.overwrites {
                    for store in running { _ = try? store.compact() }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        let failed = tally.failures.withLock { $0 }
        #expect(failed.isEmpty, "\(failed.count) writes failed, first \(failed.prefix(3))")
        #expect(tally.written.withLock { $0 } == Self.overwrites)

        // Bounded: the leader's log holds at most the budget (plus a batch being applied),
        // and its store the state, that log and the dead records compaction has yet to take.
        let status = leader.status
        #expect(status.logBytes <= Self.budget + 64 << 10, "leader log \(status.logBytes) bytes")
        #expect(status.logStart > UInt64(Self.overwrites / 2), "the log was trimmed: it starts at \(status.logStart)")
        for store in stores.values { _ = try store.compact(everything: true) }
        let statistics = stores[n1]!.statistics()
        let stateBytes = Self.keys * 120
        print(
            "long run: \(Self.overwrites) overwrites of \(Self.keys) keys; leader store \(statistics.totalBytes) bytes, \(statistics.liveKeys) live keys, \(statistics.tombstones) tombstones; log \(status.logStart)...\(status.last), \(status.logBytes) bytes"
        )
        #expect(statistics.liveKeys <= Self.keys + 1 + Self.budget / 70, "keydir: \(statistics.liveKeys) live keys")
        #expect(statistics.totalBytes <= UInt64(2 * (stateBytes + Self.budget) + (2 << 20)))

        // n3 comes back far behind the log's start: a snapshot, then the entries after it.
        transport.cut.withLock { $0 = [] }
        let caughtUp = await LeaderReplicaTests.eventually {
            (try? replicas[n3]!.contents()) == (try? leader.contents())
                && coordination.state.withLock { $0.inSync } == Set(ids)
        }
        #expect(caughtUp, "n3 installs a snapshot, catches up and rejoins the ISR")
        #expect(try replicas[n3]!.contents().count == Self.keys)
        #expect(replicas[n2]!.status.logBytes < 64 << 10, "a follower trims what it applied")

        // A restart of n2 reads its mark and the entries after it, not the history.
        let before = try replicas[n2]!.contents()
        let unapplied = replicas[n2]!.status.last - replicas[n2]!.status.applied
        stores[n2]!.close()
        let clock = ContinuousClock()
        let started = clock.now
        stores[n2] = try Self.open("\(root)/n2")
        let reopened = try Self.replica(
            n2, ids, storage: LogStoreStorage(stores[n2]!), coordination: coordination, transport: transport)
        let took = clock.now - started
        print("long run: reopening a replica of \(Self.keys) keys took \(took) (\(unapplied) entries unapplied)")
        #expect(try reopened.contents() == before)
        #expect(reopened.status.logBytes < 64 << 10, "it read only the unapplied tail")
    }
}
