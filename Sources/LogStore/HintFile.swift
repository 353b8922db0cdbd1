import RingstoreCore

/// One line of a hint file: where a record of a closed segment lives, without its value.
struct HintEntry: Equatable {
    var sequence: UInt64
    var offset: UInt32
    var length: UInt32
    var isTombstone: Bool
    var key: [UInt8]
}

/// Hint files let a restart load a closed segment's keydir entries without reading the
/// segment. The whole file carries one CRC32C; a hint that fails it is ignored and its
/// segment is scanned instead.
enum HintFile {
    static let magic: [UInt8] = Array("RSTHINT1".utf8)

    static func encode(segmentID: UInt32, entries: [HintEntry]) -> [UInt8] {
        var w = ByteWriter(capacity: 24 + entries.count * 40)
        w.write(bytes: magic)
        w.write(segmentID)
        w.write(UInt32(entries.count))
        for e in entries {
            w.write(e.sequence)
            w.write(e.offset)
            w.write(e.length)
            w.write(UInt8(e.isTombstone ? 1 : 0))
            w.write(UInt32(e.key.count))
            w.write(bytes: e.key)
        }
        w.write(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Calls `body` for every entry, or returns false (having called it for none) when the
    /// file is not a valid hint for `segmentID`.
    static func decode(_ bytes: [UInt8], segmentID: UInt32, _ body: (HintEntry) -> Void) -> Bool {
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else { return false }
        let stored = bytes.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        }
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else { return false }
        var r = ByteReader(bytes, offset: 8)
        guard r.read(UInt32.self) == segmentID, let count: UInt32 = r.read() else { return false }
        var entries: [HintEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let sequence: UInt64 = r.read(), let offset: UInt32 = r.read(), let length: UInt32 = r.read(),
                let tombstone: UInt8 = r.read(), let keyLength: UInt32 = r.read(),
                let key = r.read(count: Int(keyLength))
            else { return false }
            entries.append(
                HintEntry(sequence: sequence, offset: offset, length: length, isTombstone: tombstone == 1, key: key))
        }
        guard r.remaining == 4 else { return false }
        entries.forEach(body)
        return true
    }
}

/// A dictionary file: magic, id, length, the dictionary bytes, CRC32C of all before it.
enum DictionaryFile {
    static let magic: [UInt8] = Array("RSTDICT1".utf8)

    static func encode(_ dictionary: CompressionDictionary) -> [UInt8] {
        var w = ByteWriter(capacity: dictionary.bytes.count + 24)
        w.write(bytes: magic)
        w.write(dictionary.id)
        w.write(UInt32(dictionary.bytes.count))
        w.write(bytes: dictionary.bytes)
        w.write(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> CompressionDictionary? {
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else { return nil }
        let stored = bytes.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        }
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else { return nil }
        var r = ByteReader(bytes, offset: 8)
        guard let id: UInt32 = r.read(), let length: UInt32 = r.read(), Int(length) <= CompressionDictionary.bytesMax,
            let body = r.read(count: Int(length)), r.remaining == 4
        else { return nil }
        return CompressionDictionary(id: id, bytes: body)
    }
}

/// A compaction manifest: the ids of the segments a finished compaction replaced. Written
/// (and synced) after the new segments are durable and before the old ones are unlinked,
/// so a restart finishes the removal: a dropped tombstone never meets its old value again.
enum CompactionManifest {
    static let magic: [UInt8] = Array("RSTMANI1".utf8)

    static func encode(replaced: [UInt32]) -> [UInt8] {
        var w = ByteWriter()
        w.write(bytes: magic)
        w.write(UInt32(replaced.count))
        for id in replaced { w.write(id) }
        w.write(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> [UInt32]? {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { return nil }
        let stored = bytes.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        }
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else { return nil }
        var r = ByteReader(bytes, offset: 8)
        guard let count: UInt32 = r.read() else { return nil }
        var ids: [UInt32] = []
        for _ in 0..<count {
            guard let id: UInt32 = r.read() else { return nil }
            ids.append(id)
        }
        return r.remaining == 4 ? ids : nil
    }
}
