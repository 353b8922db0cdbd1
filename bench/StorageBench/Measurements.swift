import CHeapStats
import Foundation
import Histogram
import LogStore
import Logging
import RingstoreCore

#if canImport(Glibc)
    import Glibc
#endif

func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// The disk's own rate: append a record-sized block and fdatasync, in a loop.
enum RawFsync {
    struct Result {
        var perSecond: Double
        var p50: UInt64
        var p99: UInt64
    }

    static func measure(path: String, seconds: Double, recordBytes: Int) throws -> Result {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationErrorText("cannot open \(path)") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x5A, count: recordBytes)
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        let start = nowNanos()
        let end = start + UInt64(seconds * 1e9)
        var offset = 0
        var count = 0
        while nowNanos() < end {
            let t0 = nowNanos()
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            fdatasync(fd)
            _ = histogram.record(nowNanos() - t0)
            offset += recordBytes
            count += 1
        }
        let elapsed = Double(nowNanos() - start) / 1e9
        return Result(
            perSecond: Double(count) / elapsed, p50: histogram.valueAtPercentile(50),
            p99: histogram.valueAtPercentile(99))
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Concurrent writers doing `put` in a loop against one store for a fixed time.
enum AppendLoad {
    struct Result {
        var perSecond: Double
        var megabytesPerSecond: Double
        var recordsPerFsync: Double
        var p50: UInt64
        var p99: UInt64
    }

    static func run(
        directory: String, writers: Int, seconds: Double, valueBytes: Int, compression: Bool, json: Bool = false,
        logger: Logger
    ) async throws -> Result {
        let store = try LogStore(
            configuration: LogStoreConfiguration(directory: directory, syncPolicy: .always, compression: compression),
            logger: logger)
        defer { store.close() }
        let deadline = nowNanos() + UInt64(seconds * 1e9)
        let start = nowNanos()
        let results = try await withThrowingTaskGroup(of: (Int, Histogram<UInt64>).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var rng = SeededRandom(seed: UInt64(writer + 1))
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
                    var count = 0
                    while nowNanos() < deadline {
                        let value =
                            json
                            ? ValueGenerator.json(count, bytes: valueBytes, using: &rng)
                            : ValueGenerator.random(valueBytes, using: &rng)
                        let key = Array("w\(writer)-\(count % 10_000)".utf8)
                        let t0 = nowNanos()
                        try await store.put(key, value: value)
                        _ = histogram.record(nowNanos() - t0)
                        count += 1
                    }
                    return (count, histogram)
                }
            }
            var total = 0
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
            for try await (count, histogram) in group {
                total += count
                merged.add(histogram)
            }
            return (total, merged)
        }
        let elapsed = Double(nowNanos() - start) / 1e9
        let stats = store.statistics()
        return Result(
            perSecond: Double(results.0) / elapsed,
            megabytesPerSecond: Double(results.0 * valueBytes) / elapsed / 1e6,
            recordsPerFsync: Double(stats.recordsWritten) / Double(max(1, stats.fsyncs)),
            p50: results.1.valueAtPercentile(50), p99: results.1.valueAtPercentile(99))
    }
}

/// Values for the benchmarks: incompressible random bytes, or JSON documents of one shape.
enum ValueGenerator {
    static func random(_ bytes: Int, using rng: inout SeededRandom) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes)
        while out.count < bytes {
            var word = rng.next()
            for _ in 0..<8 where out.count < bytes {
                out.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return out
    }

    static let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
    static let cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth", "Quebec", "Tallinn", "Accra", "Hanoi"]
    static let statuses = ["shipped", "pending", "delivered", "cancelled"]

    /// A JSON order document of about `bytes` bytes: typical application data, with field
    /// names and shapes repeating across values and ids, numbers and dates varying.
    static func json(_ i: Int, bytes: Int, using rng: inout SeededRandom) -> [UInt8] {
        var text =
            "{\"id\":\(i),\"customer\":{\"name\":\"\(names[Int(rng.next() % 10)])\",\"email\":\"user\(rng.next() % 100_000)@example.com\","
        text += "\"city\":\"\(cities[Int(rng.next() % 10)])\",\"age\":\(rng.next() % 90)},\"items\":["
        while text.utf8.count < bytes - 120 {
            text +=
                "{\"sku\":\"SKU-\(rng.next() % 100_000)\",\"quantity\":\(rng.next() % 9 + 1),\"price\":\(rng.next() % 10_000).\(rng.next() % 100),"
            text +=
                "\"status\":\"\(statuses[Int(rng.next() % 4)])\",\"updated\":\"2026-\(rng.next() % 12 + 1)-\(rng.next() % 28 + 1)T\(rng.next() % 24):00:00Z\"},"
        }
        text += "{}],\"tags\":[\"premium\",\"newsletter\"],\"active\":\(rng.next() % 2 == 0)}"
        return Array(text.utf8)
    }
}

/// Writes a fixed set of values and reports how they were stored.
enum CompressionRun {
    enum Kind: CaseIterable, CustomStringConvertible {
        case json1KiBAlone, json1KiB, json4KiB, random1KiB
        var title: String {
            switch self {
            case .json1KiBAlone: "JSON documents, ~1 KiB, each compressed alone (no dictionary)"
            case .json1KiB: "JSON documents, ~1 KiB"
            case .json4KiB: "JSON documents, ~4 KiB"
            case .random1KiB: "random bytes, 1 KiB"
            }
        }
        var description: String { "\(self.title)".filter { $0.isLetter || $0.isNumber } }
    }

    struct Result {
        var rawBytes: UInt64
        var storedBytes: UInt64
        var ratio: Double
        var diskBytesPerRecord: Double
    }

    static func run(directory: String, kind: Kind, logger: Logger) async throws -> Result {
        var configuration = LogStoreConfiguration(directory: directory, syncPolicy: .none, compression: true)
        configuration.compressionDictionary = kind != .json1KiBAlone
        let store = try LogStore(configuration: configuration, logger: logger)
        var rng = SeededRandom(seed: 7)
        let count = 20_000
        for i in 0..<count {
            let value: [UInt8] =
                switch kind {
                case .json1KiB, .json1KiBAlone: ValueGenerator.json(i, bytes: 1024, using: &rng)
                case .json4KiB: ValueGenerator.json(i, bytes: 4096, using: &rng)
                case .random1KiB: ValueGenerator.random(1024, using: &rng)
                }
            try await store.put(Array("key-\(i)".utf8), value: value)
        }
        let stats = store.statistics()
        store.close()
        return Result(
            rawBytes: stats.rawValueBytesWritten, storedBytes: stats.storedValueBytesWritten,
            ratio: Double(stats.rawValueBytesWritten) / Double(stats.storedValueBytesWritten),
            diskBytesPerRecord: Double(stats.totalBytes) / Double(count))
    }
}

/// Writes N keys, closes, and measures how long reopening takes and how much heap the
/// keydir holds (glibc's mallinfo2 before and after opening).
enum RestartRun {
    struct Result {
        var keys: Int
        var segments: Int
        var openSeconds: Double
        var heapBytesPerKey: Double
        var meanKeyBytes: Double
    }

    static func run(directory: String, keys: Int, logger: Logger) async throws -> Result {
        let config = LogStoreConfiguration(directory: directory, syncPolicy: .none, segmentBytesMax: 64 * 1024 * 1024)
        var keyBytes = 0
        do {
            let store = try LogStore(configuration: config, logger: logger)
            let batch = 256
            var i = 0
            while i < keys {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for j in i..<min(i + batch, keys) {
                        group.addTask { try await store.put(Array("user:\(j)".utf8), value: Array("v\(j)".utf8)) }
                    }
                    try await group.waitForAll()
                }
                i += batch
            }
            for j in 0..<keys { keyBytes += "user:\(j)".utf8.count }
            store.close()
        }
        let before = ringstore_heap_bytes_in_use()
        let start = nowNanos()
        let reopened = try LogStore(configuration: config, logger: logger)
        let openSeconds = Double(nowNanos() - start) / 1e9
        let after = ringstore_heap_bytes_in_use()
        let stats = reopened.statistics()
        reopened.close()
        precondition(stats.liveKeys == keys, "restart found \(stats.liveKeys) of \(keys) keys")
        return Result(
            keys: stats.liveKeys, segments: stats.segments, openSeconds: openSeconds,
            heapBytesPerKey: Double(Int(after) - Int(before)) / Double(keys),
            meanKeyBytes: Double(keyBytes) / Double(keys))
    }
}
