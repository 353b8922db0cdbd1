import Logging
import RingstoreCore

/// Opening a store directory: finish interrupted compactions, load dictionaries, load
/// hint files of closed segments, scan (and CRC-check) segments without a hint, truncate
/// a torn tail of the segment that was active at the crash, then start a new active segment.
struct Recovery {
    let configuration: LogStoreConfiguration
    let disk: any Disk
    let logger: Logger

    /// How much of a segment is read per call while scanning.
    static let scanChunkBytes = 1 << 20

    var directory: String { configuration.directory }
    var files: StoreDirectory { StoreDirectory(disk: disk, path: directory) }

    func path(_ name: String) -> String { files.file(name) }

    func run() throws(LogStoreError) -> (
        state: StoreState, flusher: FlusherState, dictionaries: [UInt32: CompressionDictionary]
    ) {
        try disk.createDirectory(directory)
        var names = Set(try disk.list(directory))
        try removeLeftovers(&names)

        var dictionaries: [UInt32: CompressionDictionary] = [:]
        for name in names {
            guard let id = StoreFiles.id(of: name, suffix: StoreFiles.dictionarySuffix) else { continue }
            guard let dictionary = DictionaryFile.decode(try files.readAll(name)),
                dictionary.id == id
            else {
                throw LogStoreError(.corruption, "dictionary file \(name) fails its checks")
            }
            dictionaries[id] = dictionary
        }

        let segmentIDs = names.compactMap { StoreFiles.id(of: $0, suffix: StoreFiles.segmentSuffix) }.sorted()
        let hintless = segmentIDs.filter { !names.contains(StoreFiles.hint($0)) }
        var keydir = Keydir()
        var maxSequence: UInt64 = 0
        var scanned: [(UInt32, [HintEntry])] = []
        for id in segmentIDs {
            let file = try disk.open(path(StoreFiles.segment(id)), create: false)
            var size = try file.size()
            let isTail = id == hintless.last
            guard let header = SegmentHeader.decode(try file.read(at: 0, count: SegmentHeader.bytes)), header.id == id
            else {
                if isTail && size <= UInt64(SegmentHeader.bytes) {
                    logger.warning("removing a segment whose creation was interrupted", metadata: ["segment": "\(id)"])
                    try disk.remove(path(StoreFiles.segment(id)))
                    continue
                }
                throw LogStoreError(.corruption, "segment \(id) has no valid header")
            }
            maxSequence = max(maxSequence, header.baseSequence)
            keydir.segments[id] = SegmentInfo(file: file, totalBytes: size)
            var loaded = false
            if names.contains(StoreFiles.hint(id)) {
                let bytes = try files.readAll(StoreFiles.hint(id))
                loaded = HintFile.decode(bytes, segmentID: id) { entry in
                    maxSequence = max(maxSequence, entry.sequence)
                    keydir.apply(entry, in: id)
                }
                if !loaded {
                    logger.warning("hint file fails its checks; scanning its segment", metadata: ["segment": "\(id)"])
                }
            }
            if !loaded {
                let hints = try scan(file: file, id: id, size: &size, allowTornTail: isTail)
                keydir.segments[id]?.totalBytes = size
                for entry in hints {
                    maxSequence = max(maxSequence, entry.sequence)
                    keydir.apply(entry, in: id)
                }
                scanned.append((id, hints))
            }
        }
        // Segments scanned here are closed from now on: give them hint files.
        for (id, hints) in scanned {
            try keydir.segments[id]?.file.sync()
            try files.writeDurably(HintFile.encode(segmentID: id, entries: hints), named: StoreFiles.hint(id))
        }

        let nextSequence = maxSequence + 1
        let activeID = (segmentIDs.last ?? 0) + 1
        let activeFile = try files.createSegment(id: activeID, baseSequence: nextSequence)
        keydir.segments[activeID] = SegmentInfo(file: activeFile, totalBytes: UInt64(SegmentHeader.bytes))

        let state = StoreState(
            keydir: keydir, activeID: activeID, activeSize: UInt64(SegmentHeader.bytes),
            nextSegmentID: activeID + 1, nextSequence: nextSequence
        )
        logger.info(
            "store opened",
            metadata: [
                "directory": "\(directory)", "segments": "\(segmentIDs.count)", "scanned": "\(scanned.count)",
                "keys": "\(keydir.liveKeys)", "tombstones": "\(keydir.tombstones)",
            ]
        )
        let flusher = FlusherState(activeFile: activeFile, activeID: activeID, activeSize: UInt64(SegmentHeader.bytes))
        return (state, flusher, dictionaries)
    }

    /// Temporary files are unfinished writes; a compaction manifest means its segments
    /// were replaced and must go; a hint without its segment is an orphan.
    private func removeLeftovers(_ names: inout Set<String>) throws(LogStoreError) {
        var changed = false
        for name in names where name.hasSuffix(StoreFiles.temporarySuffix) {
            try disk.remove(path(name))
            names.remove(name)
            changed = true
        }
        for name in names where StoreFiles.id(of: name, suffix: StoreFiles.manifestSuffix) != nil {
            if let replaced = CompactionManifest.decode(try files.readAll(name)) {
                for id in replaced {
                    for victim in [StoreFiles.segment(id), StoreFiles.hint(id)] where names.contains(victim) {
                        try disk.remove(path(victim))
                        names.remove(victim)
                    }
                }
                logger.info("finished an interrupted compaction", metadata: ["replaced": "\(replaced)"])
            }
            try disk.syncDirectory(directory)
            try disk.remove(path(name))
            names.remove(name)
            changed = true
        }
        for name in names {
            guard let id = StoreFiles.id(of: name, suffix: StoreFiles.hintSuffix),
                !names.contains(StoreFiles.segment(id))
            else { continue }
            try disk.remove(path(name))
            names.remove(name)
            changed = true
        }
        if changed { try disk.syncDirectory(directory) }
    }

    /// Reads a segment record by record, checking every CRC. A bad or incomplete record in
    /// the tail segment is a torn write: the file is truncated there and the loss logged.
    /// Anywhere else it is corruption, reported as an error.
    func scan(file: any DiskFile, id: UInt32, size: inout UInt64, allowTornTail: Bool) throws(LogStoreError)
        -> [HintEntry]
    {
        var decoder = RecordStreamDecoder(startingAt: UInt64(SegmentHeader.bytes))
        var readOffset = UInt64(SegmentHeader.bytes)
        var hints: [HintEntry] = []
        var problem: String?
        scanning: while true {
            switch decoder.next() {
            case .record(let record, let offset, let length):
                hints.append(
                    HintEntry(
                        sequence: record.sequence, offset: UInt32(offset), length: UInt32(length),
                        isTombstone: record.isTombstone, key: record.key))
            case .corrupt(_, let reason):
                problem = reason
                break scanning
            case .needMoreInput:
                if readOffset >= size {
                    if decoder.pendingBytes > 0 { problem = "incomplete record" }
                    break scanning
                }
                let chunk = try file.read(at: readOffset, count: Self.scanChunkBytes)
                if chunk.isEmpty {
                    size = readOffset
                    continue
                }
                readOffset += UInt64(chunk.count)
                decoder.feed(chunk)
            }
        }
        if let problem {
            let at = decoder.position
            guard allowTornTail else {
                throw LogStoreError(.corruption, "segment \(id) at offset \(at): \(problem)")
            }
            // Preallocated space after the last record is not a loss; anything else is.
            if try !isZeroFilled(file, from: at, to: size) {
                logger.warning(
                    "truncating a torn tail",
                    metadata: [
                        "segment": "\(id)", "offset": "\(at)", "droppedBytes": "\(size - at)", "reason": "\(problem)",
                    ]
                )
            }
            try file.truncate(to: at)
            try file.sync()
            size = at
        }
        return hints
    }

    /// Whether every byte in [from, to) is zero (preallocated, never written).
    private func isZeroFilled(_ file: any DiskFile, from: UInt64, to: UInt64) throws(LogStoreError) -> Bool {
        var offset = from
        while offset < to {
            let chunk = try file.read(at: offset, count: Int(min(UInt64(Self.scanChunkBytes), to - offset)))
            if chunk.isEmpty { return true }
            if chunk.contains(where: { $0 != 0 }) { return false }
            offset += UInt64(chunk.count)
        }
        return true
    }
}
