import Foundation
import LogStore
import Logging
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization
import Testing

/// The leader-mode replication log on a real LogStore (fsync per append): appends,
/// reads, truncation, and the epoch history rebuilt when the store is opened again.
@Suite struct PartitionLogTests {
    static func open(_ directory: String) throws -> LogStore {
        try LogStore(configuration: LogStoreConfiguration(directory: directory), logger: Logger(label: "test"))
    }

    static func entry(_ epoch: UInt64, _ sequence: UInt64, _ key: String, _ value: String?) -> LeaderEntry {
        LeaderEntry(
            position: LogPosition(epoch: Epoch(epoch), sequence: sequence), key: Array(key.utf8),
            value: value.map { Array($0.utf8) })
    }

    /// Appends and waits until the log reports `through` durable.
    static func append(_ log: PartitionLog, _ entries: [LeaderEntry]) async throws {
        let target = entries.last!.position.sequence
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumed = Mutex(false)
            log.append(entries) { result in
                let done: Bool
                switch result {
                case .success(let through): done = through >= target
                case .failure: done = true
                }
                guard done,
                    resumed.withLock({ was in
                        defer { was = true }
                        return !was
                    })
                else { return }
                switch result {
                case .success: continuation.resume()
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        }
    }

    @Test func entriesSurviveAReopenWithTheirEpochsAndTruncationIsDurable() async throws {
        let directory = NSTemporaryDirectory() + "partition-log-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyspace = try KeyspaceName(validating: "orders")
        var store = try Self.open(directory)
        var log = try PartitionLog(storage: LogStoreStorage(store), keyspace: keyspace, partition: 3)
        #expect(log.durable == 0)
        try await Self.append(
            log, [Self.entry(2, 1, "a", "1"), Self.entry(2, 2, "b", nil), Self.entry(5, 3, "a", "3")])
        try await Self.append(log, [Self.entry(5, 4, "c", String(repeating: "x", count: 5000))])
        #expect(try log.read(from: 2, through: 3) == [Self.entry(2, 2, "b", nil), Self.entry(5, 3, "a", "3")])
        #expect(try log.read(from: 1, through: 4, maxBytes: 10).count == 1, "a byte budget stops after the first entry")
        // Another partition's log shares the store and stays apart.
        let other = try PartitionLog(storage: LogStoreStorage(store), keyspace: keyspace, partition: 4)
        try await Self.append(other, [Self.entry(1, 1, "z", "z")])

        store.close()
        store = try Self.open(directory)
        log = try PartitionLog(storage: LogStoreStorage(store), keyspace: keyspace, partition: 3)
        #expect(log.durable == 4)
        #expect(try log.read(from: 1, through: 4).map(\.position.epoch) == [Epoch(2), Epoch(2), Epoch(5), Epoch(5)])

        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            log.truncate(after: 2) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
        #expect(log.durable == 2)
        try await Self.append(log, [Self.entry(7, 3, "d", "4")])
        store.close()
        store = try Self.open(directory)
        log = try PartitionLog(storage: LogStoreStorage(store), keyspace: keyspace, partition: 3)
        #expect(log.durable == 3)
        #expect(try log.read(from: 1, through: 3).map(\.position.epoch) == [Epoch(2), Epoch(2), Epoch(7)])
        store.close()
    }
}
