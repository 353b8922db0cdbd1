import RingstoreCore

/// One peer message on the wire: length-prefixed and versioned, with a request id so
/// many requests share one connection (issue 3's transport will carry these).
///
/// Layout, little-endian: length u32 (of everything after it), format version u8, kind u8,
/// request id u64, payload. The payload's meaning belongs to the kind.
public struct Frame: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1
    /// Bytes after the length: version, kind, request id.
    public static let headerBytes = 10
    /// Largest frame accepted by default: a value at its limit plus room for metadata.
    public static let defaultBytesMax = 2 * 1024 * 1024

    public var kind: UInt8
    public var requestID: UInt64
    public var payload: [UInt8]

    public init(kind: UInt8, requestID: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.requestID = requestID
        self.payload = payload
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 4 + Self.headerBytes + payload.count)
        w.write(UInt32(Self.headerBytes + payload.count))
        w.write(Self.formatVersion)
        w.write(kind)
        w.write(requestID)
        w.write(bytes: payload)
        return w.bytes
    }
}

/// Decodes frames from a byte stream that arrives in pieces of any size. A frame longer
/// than the limit, shorter than its header, or of an unknown version is a protocol error:
/// the connection is to be closed, never trusted further.
public struct FrameDecoder: Sendable {
    /// A stream that is not a frame stream; the connection is to be closed.
    public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    private var buffer: [UInt8] = []
    private var readIndex = 0
    public let frameBytesMax: Int

    public init(frameBytesMax: Int = Frame.defaultBytesMax) { self.frameBytesMax = frameBytesMax }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, nil when more input is needed.
    public mutating func next() throws(ProtocolError) -> Frame? {
        var reader = ByteReader(buffer, offset: readIndex)
        guard let length: UInt32 = reader.read() else { return nil }
        guard Int(length) >= Frame.headerBytes, Int(length) <= frameBytesMax else {
            throw ProtocolError(description: "frame length \(length) outside \(Frame.headerBytes)...\(frameBytesMax)")
        }
        guard reader.remaining >= Int(length) else { return nil }
        guard let version: UInt8 = reader.read(), version == Frame.formatVersion else {
            throw ProtocolError(description: "unknown frame format version")
        }
        guard let kind: UInt8 = reader.read(), let requestID: UInt64 = reader.read(),
            let payload = reader.read(count: Int(length) - Frame.headerBytes)
        else { preconditionFailure("frame of checked length \(length) could not be read") }
        readIndex = reader.offset
        return Frame(kind: kind, requestID: requestID, payload: payload)
    }
}
