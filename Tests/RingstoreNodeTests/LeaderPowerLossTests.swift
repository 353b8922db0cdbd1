import Foundation
import LogStore
import Logging
import Replication
import RingstoreCore
import Synchronization
import Testing

@testable import RingstoreNode

/// A leader-mode partition on a LogStore over a simulated disk that loses power (every
/// unsynced byte gone, or a torn prefix of it) while writes, applies to the state, log
/// trims and compactions are in flight: every reopen finds a mark that the state and log
/// back up (it opens), and every acknowledged write, or a newer one of its key, is there.
@Suite(.serialized) struct LeaderPowerLossTests {
    final class Acknowledged: Sendable {
        let writes = Mutex<[(key: [UInt8], value: [UInt8], position: LogPosition)]>([])
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func acknowledgedWritesSurvivePowerLossAndEveryReopenFindsAWholeState(seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(
            directory: "/db", segmentBytesMax: 16 << 10, compactionDeadRatio: 0.3, preallocateBytes: 512)
        let keyspace = try KeyspaceName(validating: "orders")
        let me = NodeID("n1")
        var model: [[UInt8]: (value: [UInt8], position: LogPosition)] = [:]
        var acknowledgedTotal = 0
        for round in 1...12 {
            let store = try LogStore(configuration: config, disk: disk, logger: Logger(label: "test"))
            var configuration = LeaderReplicaConfiguration(me: me, replicas: [me], minInSync: 1, lag: .seconds(2))
            configuration.logRetainBytes = 2048
            let coordination = LeaderReplicaTests.TestCoordination()
            let replica = try LeaderReplica(
                configuration: configuration, keyspace: keyspace, partition: 0, storage: LogStoreStorage(store),
                coordination: coordination, transport: LeaderReplicaTests.NoTransport(),
                timers: LeaderReplicaTests.SleepingTimers(), nowMillis: LeaderReplicaTests.now)
            let epoch = Epoch(UInt64(round))
            coordination.state.withLock { $0 = (me, epoch, [me]) }
            replica.elected(epoch, inSync: [me], leaseValidUntil: .max / 2)

            // Every acknowledged write, or a newer one of its key, survived the power loss.
            for (key, acknowledged) in model {
                let found = try await replica.read(key: key, level: .leader).get()
                let context = "seed \(seed) round \(round): \(String(decoding: key, as: UTF8.self))"
                #expect(found.position.map { $0 >= acknowledged.position } == true, "\(context): lost \(found)")
                if found.position == acknowledged.position { #expect(found.value == acknowledged.value, "\(context)") }
            }

            // Writers run while the power goes after a random number of acknowledgements.
            let acknowledged = Acknowledged()
            let crashAfter = Int(rng.next() % 150) + 20
            let writers = (0..<8).map { writer in
                Task {
                    for i in 0..<400 {
                        let key = Array("k\((writer * 7 + i * 13) % 30)".utf8)
                        let value = Array("r\(round) w\(writer) i\(i) ".utf8) + [UInt8](repeating: 7, count: i % 90)
                        guard case .written(let position) = await replica.write(key: key, value: value, ack: .leader)
                        else { return }
                        acknowledged.writes.withLock { $0.append((key, value, position)) }
                    }
                }
            }
            // Bounded: writers that stop early (a failed store) leave the power to go at 20 s.
            let deadline = ContinuousClock.now + .seconds(20)
            while acknowledged.writes.withLock({ $0.count }) < crashAfter, ContinuousClock.now < deadline {
                if rng.next() % 4 == 0 { _ = try? store.compact() }
                try await Task.sleep(for: .milliseconds(1))
            }
            disk.crash(rng.next() % 2 == 0 ? .dropUnsynced : .tornPrefix(seed: rng.next()))
            for writer in writers { await writer.value }
            store.close()
            for write in acknowledged.writes.withLock({ $0 })
            where write.position > model[write.key]?.position ?? .start {
                model[write.key] = (write.value, write.position)
            }
            acknowledgedTotal += acknowledged.writes.withLock { $0.count }
        }
        #expect(acknowledgedTotal > 12 * 20 && model.count == 30)
    }
}
