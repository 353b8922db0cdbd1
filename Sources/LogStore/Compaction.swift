import Logging

/// What one compaction did.
public struct CompactionReport: Sendable, Equatable {
    public var segmentsReplaced: [UInt32]
    public var segmentsWritten: [UInt32]
    public var recordsCopied: Int
    public var tombstonesPurged: Int
    public var bytesReclaimed: UInt64
}

extension LogStore {
    /// How many small closed segments make a compaction on their own.
    static let smallSegmentsToMerge = 4

    /// Rewrites the live records of closed segments whose dead fraction passed the
    /// threshold (all closed segments when `everything` is set) into new segments with
    /// hint files, switches the keydir over atomically, and unlinks the old files.
    /// Runs alongside reads and writes; blocking, so call it off the cooperative pool.
    /// Returns nil when there was nothing to do.
    @discardableResult
    public func compact(everything: Bool = false) throws(LogStoreError) -> CompactionReport? {
        guard
            let plan = lock.withLock({ () -> CompactionPlan? in
                guard !state.compacting, !state.closing else { return nil }
                let closed = state.keydir.segments.filter { $0.key != state.activeID }
                var victims = closed.filter { _, segment in
                    let payload = segment.totalBytes - UInt64(SegmentHeader.bytes)
                    if everything { return true }
                    return payload > 0
                        && Double(segment.deadBytes) >= configuration.compactionDeadRatio * Double(payload)
                }
                // Small segments (every restart starts a new one) are merged once there are
                // several, whatever their dead bytes: each costs a file descriptor and a hint.
                let small = closed.filter { $0.value.totalBytes < configuration.segmentBytesMax / 8 }
                if small.count >= Self.smallSegmentsToMerge { victims.merge(small) { current, _ in current } }
                guard !victims.isEmpty else { return nil }
                state.compacting = true
                // A tombstone may be dropped only if no segment outside this compaction can
                // hold an older record of its key (bitcask#82): every other segment starts later.
                var othersMinSequence = state.nextSequence
                for (id, segment) in state.keydir.segments where victims[id] == nil {
                    othersMinSequence = min(othersMinSequence, segment.minSequence)
                }
                return CompactionPlan(
                    victims: victims.map { ($0.key, $0.value.file, $0.value.totalBytes) }.sorted { $0.0 < $1.0 },
                    othersMinSequence: othersMinSequence
                )
            })
        else { return nil }
        defer { lock.withLock { state.compacting = false } }
        do throws(LogStoreError) {
            return try run(plan)
        } catch {
            logger.error("compaction failed; its segments stay as they were", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func run(_ plan: CompactionPlan) throws(LogStoreError) -> CompactionReport {
        var output = CompactionOutput(store: self)
        var purged: [([UInt8], KeydirEntry)] = []
        for (id, file, size) in plan.victims {
            try forEachRecord(in: file, id: id, size: size) { (record, offset, length, bytes) throws(LogStoreError) in
                let here = KeydirEntry(
                    segment: id, offset: UInt32(offset), length: UInt32(length),
                    isTombstone: record.isTombstone, sequence: record.sequence)
                let isLive = lock.withLock { state.keydir[record.key] == here }
                guard isLive else { return }
                if record.isTombstone && configuration.purgeTombstones && record.sequence < plan.othersMinSequence {
                    purged.append((record.key, here))
                    return
                }
                try output.append(bytes, record: record, from: here)
            }
        }
        let written = try output.finish()
        let replaced = plan.victims.map(\.0)
        // The manifest makes the replacement survive a crash from here on.
        let manifestID = lock.withLock {
            defer { state.nextSegmentID += 1 }
            return state.nextSegmentID
        }
        let manifestName = StoreFiles.manifest(manifestID)
        try files.writeDurably(CompactionManifest.encode(replaced: replaced), named: manifestName)
        let reclaimed: UInt64 = lock.withLock {
            for segment in written {
                state.keydir.segments[segment.id] = SegmentInfo(file: segment.file, totalBytes: segment.size)
            }
            for move in output.moves {
                state.keydir.noteSequence(move.new.sequence, in: move.new.segment)
                state.keydir.move(move.key, from: move.old, to: move.new)
            }
            for (key, tombstone) in purged { state.keydir.purge(key, tombstone: tombstone) }
            var freed: UInt64 = 0
            for id in replaced { freed += state.keydir.segments.removeValue(forKey: id)?.totalBytes ?? 0 }
            let added = written.reduce(UInt64(0)) { $0 + $1.size }
            state.compactions += 1
            state.bytesReclaimed += freed > added ? freed - added : 0
            return freed > added ? freed - added : 0
        }
        for id in replaced {
            try disk.remove(files.file(StoreFiles.segment(id)))
            try disk.remove(files.file(StoreFiles.hint(id)))
        }
        try disk.syncDirectory(configuration.directory)
        try disk.remove(files.file(manifestName))
        try disk.syncDirectory(configuration.directory)
        let report = CompactionReport(
            segmentsReplaced: replaced, segmentsWritten: written.map(\.id), recordsCopied: output.moves.count,
            tombstonesPurged: purged.count, bytesReclaimed: reclaimed
        )
        logger.info("compaction finished", metadata: ["report": "\(report)"])
        return report
    }

    /// Calls `body` with every record of a closed segment, in order, with its raw bytes.
    /// Any bad record is corruption: closed segments were synced whole.
    func forEachRecord(
        in file: any DiskFile, id: UInt32, size: UInt64,
        _ body: (Record, UInt64, Int, ArraySlice<UInt8>) throws(LogStoreError) -> Void
    ) throws(LogStoreError) {
        var offset = UInt64(SegmentHeader.bytes)
        var buffer: [UInt8] = []
        var bufferBase = offset
        var start = 0
        while true {
            let decoded = buffer.withUnsafeBytes { RecordCodec.decode($0, at: start) }
            switch decoded {
            case .record(let record, let length):
                try body(record, bufferBase + UInt64(start), length, buffer[start..<(start + length)])
                start += length
            case .corrupt(let reason):
                throw LogStoreError(.corruption, "segment \(id) at offset \(bufferBase + UInt64(start)): \(reason)")
            case .incomplete:
                if offset >= size {
                    if start < buffer.count {
                        throw LogStoreError(
                            .corruption, "segment \(id) ends inside a record at \(bufferBase + UInt64(start))")
                    }
                    return
                }
                let chunk = try file.read(at: offset, count: Recovery.scanChunkBytes)
                if chunk.isEmpty {
                    throw LogStoreError(.corruption, "segment \(id) is shorter than its recorded size")
                }
                offset += UInt64(chunk.count)
                buffer.removeFirst(start)
                bufferBase += UInt64(start)
                start = 0
                buffer.append(contentsOf: chunk)
            }
        }
    }
}

struct CompactionPlan {
    var victims: [(UInt32, any DiskFile, UInt64)]
    var othersMinSequence: UInt64
}

/// The new segments a compaction writes: under temporary names until complete, then the
/// hint is renamed into place before the segment, so a segment file never lacks its hint.
struct CompactionOutput {
    struct Move {
        var key: [UInt8]
        var old: KeydirEntry
        var new: KeydirEntry
    }

    struct Written {
        var id: UInt32
        var file: any DiskFile
        var size: UInt64
    }

    let store: LogStore
    var moves: [Move] = []
    private var current: (id: UInt32, file: any DiskFile, size: UInt64, hints: [HintEntry])?
    private var written: [Written] = []

    init(store: LogStore) { self.store = store }

    mutating func append(_ bytes: ArraySlice<UInt8>, record: Record, from old: KeydirEntry) throws(LogStoreError) {
        if let open = current, open.size + UInt64(bytes.count) > store.configuration.segmentBytesMax,
            open.size > UInt64(SegmentHeader.bytes)
        {
            try seal()
        }
        if current == nil {
            let id = store.lock.withLock {
                defer { store.state.nextSegmentID += 1 }
                return store.state.nextSegmentID
            }
            let name = store.files.file(StoreFiles.segment(id)) + StoreFiles.temporarySuffix
            let file = try store.disk.open(name, create: true)
            try file.truncate(to: 0)
            try file.write(SegmentHeader.encode(id: id, baseSequence: record.sequence), at: 0)
            current = (id, file, UInt64(SegmentHeader.bytes), [])
        }
        guard let (_, file, size, _) = current else {
            preconditionFailure("compaction output segment missing after creation")
        }
        try file.write(Array(bytes), at: size)
        // Taken out of `current` before it grows: a second reference to its hints would
        // make every append copy them all (compaction went quadratic in the live records).
        guard var open = current else { preconditionFailure("compaction output segment missing after creation") }
        current = nil
        let new = KeydirEntry(
            segment: open.id, offset: UInt32(open.size), length: old.length,
            isTombstone: old.isTombstone, sequence: old.sequence)
        open.hints.append(
            HintEntry(
                sequence: old.sequence, offset: new.offset, length: new.length,
                isTombstone: old.isTombstone, key: record.key))
        open.size += UInt64(bytes.count)
        current = open
        moves.append(Move(key: record.key, old: old, new: new))
    }

    private mutating func seal() throws(LogStoreError) {
        guard let open = current else { return }
        try open.file.sync()
        try store.files.writeDurably(
            HintFile.encode(segmentID: open.id, entries: open.hints), named: StoreFiles.hint(open.id))
        let final = store.files.file(StoreFiles.segment(open.id))
        try store.disk.rename(final + StoreFiles.temporarySuffix, to: final)
        try store.disk.syncDirectory(store.configuration.directory)
        written.append(Written(id: open.id, file: open.file, size: open.size))
        current = nil
    }

    /// Seals the last segment and returns everything written, all durable.
    mutating func finish() throws(LogStoreError) -> [Written] {
        try seal()
        return written
    }
}
