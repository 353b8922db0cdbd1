import Foundation
import RingstoreCore
import Testing

@testable import LogStore

/// Compaction runs while writers write and readers read, on the real disk: every read
/// sees a value some writer wrote for that key, never older than one already seen, and
/// after the run every key holds its last write.
@Suite struct ConcurrentCompactionTests {
    final class Progress: @unchecked Sendable {
        let lock = NSLock()
        /// Highest write number acknowledged per key.
        var acknowledged: [Int: Int] = [:]
        func ack(_ key: Int, _ n: Int) { lock.withLock { acknowledged[key] = max(acknowledged[key] ?? -1, n) } }
        func floor(_ key: Int) -> Int { lock.withLock { acknowledged[key] ?? -1 } }
        /// Set by the compactor once enough ran; everyone stops then.
        var finished = false
        var isFinished: Bool { lock.withLock { finished } }
        func finish() { lock.withLock { finished = true } }
    }

    static func value(key: Int, n: Int) -> [UInt8] {
        Array("key \(key) write \(n) ".utf8) + [UInt8](repeating: UInt8(n % 251), count: 200 + n % 300)
    }

    static func writeNumber(_ value: [UInt8]) -> Int? {
        let words = String(decoding: value.prefix(40), as: UTF8.self).split(separator: " ")
        return words.count >= 4 ? Int(words[3]) : nil
    }

    @Test func readersNeverSeeAHalfCompactedStore() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = LogStoreConfiguration(
            directory: directory, syncPolicy: .none, segmentBytesMax: 64 * 1024, compactionDeadRatio: 0.2)
        let store = try LogStore(configuration: config, logger: quietLogger)
        let progress = Progress()
        let keys = 200
        // At least 2 s and 4 compactions (a sanitizer build or a busy machine is slow), at most 120 s.
        let start = ContinuousClock.now
        let compactions = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var n = 0
                    while !progress.isFinished {
                        // Each writer owns the keys congruent to it, so write numbers per key increase.
                        let key = (n * 4 + writer) % keys
                        try await store.put(Array("k\(key)".utf8), value: Self.value(key: key, n: n))
                        progress.ack(key, n)
                        n += 1
                    }
                    return 0
                }
            }
            for reader in 0..<2 {
                group.addTask {
                    var rng = SeededRandom(seed: UInt64(reader + 1))
                    while !progress.isFinished {
                        // Reads do not suspend: pause so writers and the compactor get the pool
                        // even when other suites keep its threads busy.
                        try await Task.sleep(for: .milliseconds(1))
                        let key = Int(rng.next() % UInt64(keys))
                        let floor = progress.floor(key)
                        guard let value = try store.get(Array("k\(key)".utf8))?.value else {
                            #expect(floor < 0, "key \(key) vanished after write \(floor)")
                            continue
                        }
                        let n = try #require(Self.writeNumber(value))
                        #expect(value == Self.value(key: key, n: n), "key \(key): torn value")
                        #expect(n >= floor, "key \(key): read write \(n) after \(floor) was acknowledged")
                    }
                    return 0
                }
            }
            group.addTask {
                var count = 0
                defer { progress.finish() }
                while ContinuousClock.now - start < .seconds(120) {
                    if try store.compact() != nil { count += 1 }
                    if count >= 4 && ContinuousClock.now - start > .seconds(2) { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return count
            }
            return try await group.reduce(0, +)
        }
        #expect(compactions > 3, "only \(compactions) compactions ran")
        for key in 0..<keys where progress.floor(key) >= 0 {
            let value = try #require(try store.get(Array("k\(key)".utf8))?.value)
            #expect(Self.writeNumber(value) == progress.floor(key))
        }
        store.close()
        // And the same after a restart.
        let reopened = try LogStore(configuration: config, logger: quietLogger)
        for key in 0..<keys where progress.floor(key) >= 0 {
            #expect(
                Self.writeNumber(try #require(try reopened.get(Array("k\(key)".utf8))?.value)) == progress.floor(key))
        }
        reopened.close()
    }
}
