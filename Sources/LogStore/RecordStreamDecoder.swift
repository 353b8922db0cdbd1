/// Decodes records from input that arrives in chunks of any size (a segment read in
/// pieces): feed bytes, then take records until it asks for more.
public struct RecordStreamDecoder {
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// File offset of `buffer[0]`.
    private var bufferBase: UInt64

    public init(startingAt offset: UInt64) { bufferBase = offset }

    public mutating func feed(_ bytes: [UInt8]) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            bufferBase += UInt64(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// File offset of the next undecoded byte.
    public var position: UInt64 { bufferBase + UInt64(readIndex) }
    /// Bytes fed but not yet decoded.
    public var pendingBytes: Int { buffer.count - readIndex }

    /// The outcome of one `next()`.
    public enum Step: Equatable {
        case record(Record, offset: UInt64, length: Int)
        case needMoreInput
        case corrupt(offset: UInt64, reason: String)
    }

    public mutating func next() -> Step {
        let result = RecordCodec.decode(buffer, at: readIndex)
        switch result {
        case .record(let record, let length):
            let offset = position
            readIndex += length
            return .record(record, offset: offset, length: length)
        case .incomplete:
            return .needMoreInput
        case .corrupt(let reason):
            return .corrupt(offset: position, reason: reason)
        }
    }
}
