/// Where the latest record of a key lives. 24 bytes; the key itself is the map's key.
struct KeydirEntry: Equatable {
    var segment: UInt32
    var offset: UInt32
    var length: UInt32
    var isTombstone: Bool
    var sequence: UInt64
}

/// Bookkeeping for one segment file.
struct SegmentInfo {
    let file: any DiskFile
    var totalBytes: UInt64
    var liveBytes: UInt64 = 0
    /// The smallest sequence number in the segment (`UInt64.max` while it is empty).
    var minSequence: UInt64 = .max

    var deadBytes: UInt64 { totalBytes - UInt64(SegmentHeader.bytes) - liveBytes }
}

/// The in-memory index (Bitcask's keydir) and the segment table it points into.
struct Keydir {
    private(set) var entries = KeyIndex()
    var segments: [UInt32: SegmentInfo] = [:]
    private(set) var liveKeys = 0
    private(set) var tombstones = 0

    /// Records that `entry` was written for `key`; the higher sequence wins. Returns
    /// whether it became the current entry.
    @discardableResult
    mutating func apply(_ key: [UInt8], _ entry: KeydirEntry) -> Bool {
        noteSequence(entry.sequence, in: entry.segment)
        if let old = entries[key] {
            if old.sequence >= entry.sequence { return false }
            segments[old.segment]?.liveBytes -= UInt64(old.length)
            count(old, -1)
        }
        entries.set(key, entry)
        segments[entry.segment]?.liveBytes += UInt64(entry.length)
        count(entry, 1)
        return true
    }

    /// Applies a record found on disk (from a hint file or a scan) of `segment`.
    mutating func apply(_ hint: HintEntry, in segment: UInt32) {
        apply(
            hint.key,
            KeydirEntry(
                segment: segment, offset: hint.offset, length: hint.length, isTombstone: hint.isTombstone,
                sequence: hint.sequence)
        )
    }

    subscript(key: [UInt8]) -> KeydirEntry? { entries[key] }

    /// Lowers the segment's smallest sequence number to include `sequence`.
    mutating func noteSequence(_ sequence: UInt64, in segment: UInt32) {
        guard var info = segments[segment] else { return }
        info.minSequence = min(info.minSequence, sequence)
        segments[segment] = info
    }

    /// Points `key` at a copied record, but only if it still points at `old`.
    mutating func move(_ key: [UInt8], from old: KeydirEntry, to new: KeydirEntry) {
        guard entries[key] == old else { return }
        segments[old.segment]?.liveBytes -= UInt64(old.length)
        entries.set(key, new)
        segments[new.segment]?.liveBytes += UInt64(new.length)
    }

    /// Forgets a purged tombstone, but only if it is still the key's current entry.
    mutating func purge(_ key: [UInt8], tombstone: KeydirEntry) {
        guard entries[key] == tombstone else { return }
        segments[tombstone.segment]?.liveBytes -= UInt64(tombstone.length)
        entries.remove(key)
        count(tombstone, -1)
    }

    private mutating func count(_ entry: KeydirEntry, _ delta: Int) {
        if entry.isTombstone { tombstones += delta } else { liveKeys += delta }
    }
}
