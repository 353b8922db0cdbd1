import InMemoryLogging
import Logging
import RingstoreCore
import Testing

@testable import LogStore

/// Damage on disk is found and reported: a torn tail is truncated with the loss logged,
/// corruption inside a closed segment is an error, never skipped.
@Suite struct CorruptionTests {
    /// Fills a few segments (without compression so offsets are predictable).
    func filledStore(_ disk: SimulatedDisk) async throws -> LogStoreConfiguration {
        let config = LogStoreConfiguration(
            directory: "/db", segmentBytesMax: 1024, compression: false, preallocateBytes: 256)
        let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        for i in 0..<30 { try await store.put(bytes("key\(i)"), value: [UInt8](repeating: UInt8(i), count: 80)) }
        store.close()
        return config
    }

    @Test func tornTailIsTruncatedAndTheLossLogged() async throws {
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(directory: "/db", compression: false, preallocateBytes: 0)
        var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        try await store.put(bytes("kept"), value: [UInt8](repeating: 1, count: 100))
        store.close()
        store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        try await store.put(bytes("kept2"), value: [UInt8](repeating: 2, count: 100))
        // Append half a record behind the synced ones, as a crash mid-write leaves it.
        let active = try #require(try disk.list("/db").filter { $0.hasSuffix(".seg") }.sorted().last)
        let file = try disk.open("/db/" + active, create: false)
        let half = Array(RecordCodec.encode(sampleRecord(7)).prefix(20))
        try file.write(half, at: try file.size())
        try file.sync()
        disk.crash()
        store.close()

        let logs = InMemoryLogHandler()
        store = try LogStore(configuration: config, disk: disk, logger: Logger(label: "test", factory: { _ in logs }))
        #expect(try store.get(bytes("kept"))?.value == [UInt8](repeating: 1, count: 100))
        #expect(try store.get(bytes("kept2"))?.value == [UInt8](repeating: 2, count: 100))
        let warning = logs.entries.first { $0.message.description == "truncating a torn tail" }
        #expect(warning?.metadata["droppedBytes"] == "20", "\(logs.entries)")
        store.close()
    }

    @Test func corruptClosedSegmentIsReportedOnReadAndCompaction() async throws {
        let disk = SimulatedDisk()
        let config = try await filledStore(disk)
        let first = try #require(try disk.list("/db").filter { $0.hasSuffix(".seg") }.sorted().first)
        // Damage the value of the first record (header 32 + record header 32 + key "key0").
        disk.corrupt("/db/" + first, at: 32 + 32 + 4 + 20, with: [0xFF, 0xEE])
        let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        #expect(throws: LogStoreError.self) { try store.get(bytes("key0")) }
        do {
            try store.compact(everything: true)
            Issue.record("compaction went over a corrupt record")
        } catch {
            #expect(error.code == .corruption)
        }
        // The other keys still read.
        #expect(try store.get(bytes("key29"))?.value == [UInt8](repeating: 29, count: 80))
        store.close()
    }

    @Test func closedSegmentWithoutHintIsScannedStrictly() async throws {
        let disk = SimulatedDisk()
        let config = try await filledStore(disk)
        let segments = try disk.list("/db").filter { $0.hasSuffix(".seg") }.sorted()
        let first = try #require(segments.first)
        // Lose the hint of an early segment and damage a record in its middle.
        try disk.remove("/db/" + first.dropLast(4) + ".hint")
        try disk.syncDirectory("/db")
        disk.corrupt("/db/" + first, at: 32 + 40, with: [0x00, 0x11, 0x22])
        #expect(throws: LogStoreError.self) { try LogStore(configuration: config, disk: disk, logger: quietLogger) }
    }

    @Test func corruptHintFileFallsBackToScanning() async throws {
        let disk = SimulatedDisk()
        let config = try await filledStore(disk)
        let hint = try #require(try disk.list("/db").filter { $0.hasSuffix(".hint") }.sorted().first)
        disk.corrupt("/db/" + hint, at: 30, with: [0xAB])
        let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        for i in 0..<30 { #expect(try store.get(bytes("key\(i)"))?.value == [UInt8](repeating: UInt8(i), count: 80)) }
        store.close()
    }
}
