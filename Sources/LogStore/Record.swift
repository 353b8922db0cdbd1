import RingstoreCore

/// One entry of the log: a key, its version metadata and either a value or a tombstone.
/// The layout is in `docs/log-format.md`.
public struct Record: Sendable, Equatable {
    /// The record's flag byte.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let tombstone = Flags(rawValue: 1 << 0)
        public static let compressed = Flags(rawValue: 1 << 1)
        static let known: Flags = [.tombstone, .compressed]
    }

    /// Store-wide sequence number, assigned when the record is appended; the highest wins.
    public var sequence: UInt64
    public var flags: Flags
    public var key: [UInt8]
    /// Opaque version metadata of the layer above (versions, content type).
    public var metadata: [UInt8]
    /// The bytes as stored: compressed when `flags` says so.
    public var storedValue: [UInt8]
    /// The value's length before compression.
    public var rawValueLength: UInt32
    /// The dictionary the value was compressed against; 0 for none.
    public var dictionaryID: UInt32

    public var isTombstone: Bool { flags.contains(.tombstone) }

    public init(
        sequence: UInt64,
        flags: Flags,
        key: [UInt8],
        metadata: [UInt8],
        storedValue: [UInt8],
        rawValueLength: UInt32,
        dictionaryID: UInt32
    ) {
        self.sequence = sequence
        self.flags = flags
        self.key = key
        self.metadata = metadata
        self.storedValue = storedValue
        self.rawValueLength = rawValueLength
        self.dictionaryID = dictionaryID
    }
}

/// The fixed 32-byte record header and the encoding of whole records.
public enum RecordCodec {
    public static let headerBytes = 32
    public static let formatVersion: UInt8 = 1
    /// Largest key the format accepts (the node enforces a smaller configured limit).
    public static let keyBytesMax = Int(UInt16.max)
    /// Largest version metadata (u16 length).
    public static let metadataBytesMax = Int(UInt16.max)
    /// Largest stored value; anything larger in a header is corruption, not a huge allocation.
    public static let valueBytesMax = 256 * 1024 * 1024

    /// Encodes a record with its sequence number and checksum.
    public static func encode(_ record: Record) -> [UInt8] {
        var bytes = encodeUnsealed(record)
        seal(&bytes, at: 0, sequence: record.sequence)
        return bytes
    }

    /// Encodes everything but the sequence number and checksum, which the flusher fills
    /// in when it appends the record (`seal`). Writers do this work, and compression,
    /// outside the store's lock.
    static func encodeUnsealed(_ record: Record) -> [UInt8] {
        precondition(record.key.count <= keyBytesMax && record.metadata.count <= metadataBytesMax)
        precondition(record.storedValue.count <= valueBytesMax)
        var w = ByteWriter(capacity: headerBytes + record.key.count + record.metadata.count + record.storedValue.count)
        w.write(UInt32(0))
        w.write(formatVersion)
        w.write(record.flags.rawValue)
        w.write(UInt16(record.metadata.count))
        w.write(UInt64(0))
        w.write(UInt32(record.key.count))
        w.write(UInt32(record.storedValue.count))
        w.write(record.rawValueLength)
        w.write(record.dictionaryID)
        w.write(bytes: record.key)
        w.write(bytes: record.metadata)
        w.write(bytes: record.storedValue)
        return w.bytes
    }

    /// Writes the sequence number and the CRC32C of bytes [4, end) of the record at `start`.
    static func seal(_ buffer: inout [UInt8], at start: Int, sequence: UInt64) {
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: start + 8, as: UInt64.self)
            let length = recordLength(raw, at: start)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 4)..<(start + length)]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start, as: UInt32.self)
        }
    }

    private static func recordLength(_ raw: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        let metadata = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 6, as: UInt16.self)))
        let key = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 16, as: UInt32.self)))
        let value = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 20, as: UInt32.self)))
        return headerBytes + key + metadata + value
    }

    /// The outcome of decoding at one position of a buffer.
    public enum Decoded: Equatable {
        case record(Record, length: Int)
        /// The bytes end inside the record: more input needed, or a torn tail at end of file.
        case incomplete
        /// The header or checksum is wrong: `reason` says which.
        case corrupt(reason: String)
    }

    /// Decodes the record starting at `offset` of `bytes`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Decoded {
        let available = bytes.count - offset
        guard available >= headerBytes else { return .incomplete }
        func u32(_ at: Int) -> UInt32 {
            UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self))
        }
        let crc = u32(0)
        let version = bytes[offset + 4]
        let flags = Record.Flags(rawValue: bytes[offset + 5])
        let metadataLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)))
        let sequence = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        let keyLength = Int(u32(16))
        let valueLength = Int(u32(20))
        let rawLength = u32(24)
        let dictionaryID = u32(28)
        guard version == formatVersion else { return .corrupt(reason: "unknown record format \(version)") }
        guard flags.isSubset(of: Record.Flags.known) else { return .corrupt(reason: "unknown flags \(flags.rawValue)") }
        guard keyLength <= keyBytesMax, valueLength <= valueBytesMax, Int(rawLength) <= valueBytesMax else {
            return .corrupt(reason: "impossible lengths key=\(keyLength) value=\(valueLength)")
        }
        let length = headerBytes + keyLength + metadataLength + valueLength
        guard available >= length else { return .incomplete }
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + length)]))
        guard computed == crc else { return .corrupt(reason: "checksum mismatch") }
        let compressed = flags.contains(.compressed)
        if compressed && (valueLength == 0 || rawLength == 0) {
            return .corrupt(reason: "compressed value with zero length")
        }
        if !compressed && rawLength != UInt32(valueLength) {
            return .corrupt(reason: "raw length differs from stored length of an uncompressed value")
        }
        var at = offset + headerBytes
        func take(_ n: Int) -> [UInt8] {
            defer { at += n }
            return Array(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]))
        }
        let record = Record(
            sequence: sequence,
            flags: flags,
            key: take(keyLength),
            metadata: take(metadataLength),
            storedValue: take(valueLength),
            rawValueLength: rawLength,
            dictionaryID: dictionaryID
        )
        return .record(record, length: length)
    }

    public static func decode(_ bytes: [UInt8], at offset: Int = 0) -> Decoded {
        bytes.withUnsafeBytes { decode($0, at: offset) }
    }
}
