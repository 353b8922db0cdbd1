import RingstoreCore

/// Names of the files in a store directory (`docs/log-format.md` lists them).
enum StoreFiles {
    static let segmentSuffix = ".seg"
    static let hintSuffix = ".hint"
    static let dictionarySuffix = ".dict"
    static let manifestSuffix = ".compacted"
    static let temporarySuffix = ".tmp"

    static func segment(_ id: UInt32) -> String { padded(id) + segmentSuffix }
    static func hint(_ id: UInt32) -> String { padded(id) + hintSuffix }
    static func dictionary(_ id: UInt32) -> String { padded(id) + dictionarySuffix }
    static func manifest(_ id: UInt32) -> String { padded(id) + manifestSuffix }

    /// Ten decimal digits, so names sort in id order.
    static func padded(_ id: UInt32) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// The id of `name` if it ends with `suffix` and starts with ten digits.
    static func id(of name: String, suffix: String) -> UInt32? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 10, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(stem)
    }
}

/// The 32-byte header at the start of every segment file.
enum SegmentHeader {
    static let magic: [UInt8] = Array("RSTORSEG".utf8)
    static let bytes = 32
    static let formatVersion: UInt32 = 1

    static func encode(id: UInt32, baseSequence: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: bytes)
        w.write(bytes: magic)
        w.write(formatVersion)
        w.write(id)
        w.write(baseSequence)
        w.write(UInt32(0))
        w.write(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The id and base sequence, or nil if the header is missing or corrupt.
    static func decode(_ bytes: [UInt8]) -> (id: UInt32, baseSequence: UInt64)? {
        guard bytes.count >= Self.bytes, Array(bytes[0..<8]) == magic else { return nil }
        var r = ByteReader(bytes, offset: 8)
        guard r.read(UInt32.self) == formatVersion, let id: UInt32 = r.read(), let base: UInt64 = r.read(),
            let _: UInt32 = r.read(), let crc: UInt32 = r.read(), CRC32C.checksum(bytes[0..<28]) == crc
        else { return nil }
        return (id, base)
    }
}
