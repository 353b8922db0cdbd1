import RingstoreCore
import Testing

@testable import LogStore

/// Random put / delete / get / compaction / crash-and-reopen sequences on the simulated
/// disk, checked against a Dictionary. Under `always` every acknowledged write survives
/// every crash; reads always match the model.
@Suite struct ModelTests {
    static let seeds: [UInt64] = [1, 2, 3, 0xC0FFEE, 20_261_123]

    @Test(arguments: seeds)
    func storeMatchesDictionaryAcrossCrashes(seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(
            directory: "/db", segmentBytesMax: 4096, compactionDeadRatio: 0.3, preallocateBytes: 512)
        var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        var model: [[UInt8]: [UInt8]] = [:]
        let steps = 3000
        var crashes = 0
        var compactions = 0
        for step in 0..<steps {
            let key = bytes("k\(rng.next() % 40)")
            let roll = rng.next() % 100
            let context = "seed \(seed) step \(step) (replay: swift test --filter ModelTests)"
            switch roll {
            case 0..<45:
                var value = bytes("v\(step)-")
                if rng.next() % 3 == 0 { value += jsonValue(step, using: &rng) }
                try await store.put(key, value: value)
                model[key] = value
            case 45..<60:
                try await store.delete(key)
                model[key] = nil
            case 60..<90:
                let got = try store.get(key)
                #expect(got?.value == model[key], "\(context)")
            case 90..<95:
                if try store.compact(everything: rng.next() % 2 == 0) != nil { compactions += 1 }
            default:
                let mode: SimulatedDisk.CrashMode = rng.next() % 2 == 0 ? .dropUnsynced : .tornPrefix(seed: rng.next())
                disk.crash(mode)
                crashes += 1
                store.close()
                store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
                for (k, v) in model {
                    #expect(try store.get(k)?.value == v, "\(context): lost an acknowledged write")
                }
            }
        }
        // Nothing the model deleted comes back, nothing it holds is missing.
        for k in store.keys() {
            #expect(try store.get(k)?.value == model[k], "seed \(seed): resurrected or wrong key")
        }
        #expect(store.statistics().liveKeys == model.count)
        #expect(Set(store.keys(withPrefix: bytes("k"))) == Set(model.keys), "seed \(seed): listed keys differ")
        #expect(
            crashes > 50 && compactions > 20,
            "the run exercised too little: \(crashes) crashes, \(compactions) compactions")
        store.close()
    }

    @Test func unsyncedWritesAreLostButSyncedOnesStay() async throws {
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(directory: "/db", syncPolicy: .none, preallocateBytes: 512)
        var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        try await store.put(bytes("a"), value: bytes("1"))
        disk.crash()
        store.close()
        store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        // Under `none` nothing was fsynced: the simulated power loss drops it, which a
        // kill -9 (page cache intact) would never show.
        #expect(try store.get(bytes("a")) == nil)
        store.close()
    }

    @Test func intervalPolicySyncsOnItsOwnAfterTheInterval() async throws {
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(
            directory: "/db", syncPolicy: .interval(.milliseconds(20)), preallocateBytes: 512)
        var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        let syncsBefore = disk.syncCount
        try await store.put(bytes("a"), value: bytes("1"))
        // Acknowledged before it is synced; the flusher syncs once the interval passed.
        let deadline = ContinuousClock.now + .seconds(5)
        while disk.syncCount == syncsBefore && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(disk.syncCount > syncsBefore, "no fsync within 5 s under a 20 ms interval")
        disk.crash()
        store.close()
        store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        #expect(try store.get(bytes("a"))?.value == bytes("1"))
        store.close()
    }

    @Test func smallSegmentsFromRestartsAreMerged() async throws {
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(directory: "/db", preallocateBytes: 512)
        for restart in 0..<6 {
            let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
            try await store.put(bytes("k\(restart)"), value: bytes("v\(restart)"))
            store.close()
        }
        let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        let before = try disk.list("/db").filter { $0.hasSuffix(".seg") }.count
        let report = try #require(try store.compact())
        #expect(report.segmentsReplaced.count >= LogStore.smallSegmentsToMerge)
        #expect(try disk.list("/db").filter { $0.hasSuffix(".seg") }.count < before)
        for restart in 0..<6 { #expect(try store.get(bytes("k\(restart)"))?.value == bytes("v\(restart)")) }
        store.close()
    }

    @Test func tombstoneNeverResurrectsThroughCompaction() async throws {
        // bitcask#82: the value sits in an old segment, the tombstone in a newer one;
        // compacting only the newer one must keep the tombstone.
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(
            directory: "/db", segmentBytesMax: 256, compactionDeadRatio: 0.01, preallocateBytes: 512)
        var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        try await store.put(bytes("victim"), value: [UInt8](repeating: 7, count: 300))
        for i in 0..<5 { try await store.put(bytes("filler\(i)"), value: [UInt8](repeating: UInt8(i), count: 200)) }
        try await store.delete(bytes("victim"))
        for i in 0..<5 { try await store.put(bytes("filler\(i)"), value: [UInt8](repeating: UInt8(i + 1), count: 200)) }
        try store.compact()
        disk.crash()
        store.close()
        store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        #expect(try store.get(bytes("victim"))?.value == nil)
        try store.compact(everything: true)
        store.close()
        store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        #expect(try store.get(bytes("victim"))?.value == nil)
        #expect(try store.get(bytes("filler3"))?.value == [UInt8](repeating: 4, count: 200))
        store.close()
    }

    @Test func compactionFreesSpaceAndUnlinksFiles() async throws {
        let disk = SimulatedDisk()
        let config = LogStoreConfiguration(
            directory: "/db", segmentBytesMax: 2048, compression: false, preallocateBytes: 512)
        let store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
        for round in 0..<10 {
            for i in 0..<10 { try await store.put(bytes("k\(i)"), value: [UInt8](repeating: UInt8(round), count: 100)) }
        }
        let before = store.statistics()
        let segmentsBefore = try disk.list("/db").filter { $0.hasSuffix(".seg") }.count
        let report = try #require(try store.compact(everything: true))
        let after = store.statistics()
        #expect(report.bytesReclaimed > 0)
        #expect(after.totalBytes < before.totalBytes)
        #expect(try disk.list("/db").filter { $0.hasSuffix(".seg") }.count < segmentsBefore)
        for i in 0..<10 { #expect(try store.get(bytes("k\(i)"))?.value == [UInt8](repeating: 9, count: 100)) }
        store.close()
    }

    @Test func crashAtEveryStepOfACompactionLosesNothing() async throws {
        // Power fails at the n-th disk operation of a compaction, for every n until one
        // compaction completes: no acknowledged value is lost, the deleted key stays deleted.
        var completed = false
        var step = 0
        while !completed {
            #expect(step < 500, "compaction never completed")
            let disk = SimulatedDisk()
            let config = LogStoreConfiguration(
                directory: "/db", segmentBytesMax: 1024, compression: false, preallocateBytes: 512)
            var store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
            for round in 0..<4 {
                for i in 0..<8 {
                    try await store.put(bytes("k\(i)"), value: [UInt8](repeating: UInt8(round), count: 90))
                }
            }
            try await store.delete(bytes("k0"))
            disk.crash(afterOperations: step)
            do {
                try store.compact(everything: true)
                completed = true
            } catch {
                #expect(error.code == .staleHandle, "step \(step): \(error)")
            }
            disk.crash()
            store.close()
            store = try LogStore(configuration: config, disk: disk, logger: quietLogger)
            #expect(try store.get(bytes("k0"))?.value == nil, "step \(step): deleted key came back")
            for i in 1..<8 {
                #expect(try store.get(bytes("k\(i)"))?.value == [UInt8](repeating: 3, count: 90), "step \(step)")
            }
            store.close()
            step += 1
        }
    }
}
