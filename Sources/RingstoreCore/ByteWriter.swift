/// Appends fixed-size little-endian integers and length-prefixed fields to a byte array.
/// Everything on disk and on the wire is little-endian and never platform `Int`.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(bytes other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }

    /// A u16 length followed by the bytes; the caller guarantees the length fits.
    public mutating func writeShortBlob(_ blob: [UInt8]) {
        precondition(blob.count <= Int(UInt16.max), "blob of \(blob.count) bytes exceeds a u16 length")
        write(UInt16(blob.count))
        bytes.append(contentsOf: blob)
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and returns nil past the end.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func read<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for i in 0..<size {
            value |= T(bytes[offset + i]) << (8 * i)
        }
        offset += size
        return value
    }

    public mutating func read(count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readShortBlob() -> [UInt8]? {
        guard let length: UInt16 = read() else { return nil }
        return read(count: Int(length))
    }
}
