/// Appends fixed-size little-endian integers and length-prefixed fields to a byte array.
/// Everything on disk and on the wire is little-endian and never platform `Int`.
/// Inlinable, so that every codec gets the integer reads and writes specialized (called
/// generically across modules, each byte went through witness tables).
public struct ByteWriter: Sendable {
    @usableFromInline var storage: [UInt8]

    public var bytes: [UInt8] { storage }

    @inlinable public init(capacity: Int = 64) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    @inlinable public mutating func write(_ value: UInt8) { storage.append(value) }

    @inlinable public mutating func write<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { storage.append(contentsOf: $0) }
    }

    @inlinable public mutating func write(bytes other: some Sequence<UInt8>) { storage.append(contentsOf: other) }

    /// A u16 length followed by the bytes; the caller guarantees the length fits.
    @inlinable public mutating func writeShortBlob(_ blob: [UInt8]) {
        precondition(blob.count <= Int(UInt16.max), "blob of \(blob.count) bytes exceeds a u16 length")
        write(UInt16(blob.count))
        storage.append(contentsOf: blob)
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and returns nil past the end.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    @usableFromInline var position: Int

    public var offset: Int { position }

    @inlinable public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        position = offset
    }

    @inlinable public var remaining: Int { bytes.count - position }

    @inlinable public mutating func read<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for i in 0..<size {
            value |= T(bytes[position + i]) << (8 * i)
        }
        position += size
        return value
    }

    @inlinable public mutating func read(count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    @inlinable public mutating func readShortBlob() -> [UInt8]? {
        guard let length: UInt16 = read() else { return nil }
        return read(count: Int(length))
    }
}
