import CLZ4

/// A shared LZ4 dictionary: sample values that independent records are compressed
/// against, so small similar values (JSON documents) compress like one large block
/// while each record still decompresses alone.
///
/// The bytes live at a fixed address for the dictionary's lifetime (LZ4 refers to them),
/// and a stream state with the dictionary loaded is kept as a template: compressing a
/// value copies the template instead of hashing the dictionary again.
public final class CompressionDictionary: @unchecked Sendable {
    /// Largest dictionary LZ4 can use (its window).
    public static let bytesMax = 64 * 1024

    public let id: UInt32
    public let bytes: [UInt8]
    private let storage: UnsafeMutableRawBufferPointer
    private let template: UnsafeMutablePointer<LZ4_stream_t>

    public init(id: UInt32, bytes: [UInt8]) {
        precondition(bytes.count <= Self.bytesMax, "dictionary of \(bytes.count) bytes exceeds LZ4's window")
        self.id = id
        self.bytes = bytes
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        storage.copyBytes(from: bytes)
        template = UnsafeMutablePointer<LZ4_stream_t>.allocate(capacity: 1)
        LZ4_initStream(template, MemoryLayout<LZ4_stream_t>.size)
        LZ4_loadDict(
            template,
            storage.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(bytes.count)
        )
    }

    deinit {
        storage.deallocate()
        template.deallocate()
    }

    /// Compresses `value` against this dictionary into `destination`; returns the compressed
    /// length, or 0 when it does not fit.
    func compress(_ value: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        withUnsafeTemporaryAllocation(of: LZ4_stream_t.self, capacity: 1) { stream in
            stream.baseAddress!.update(from: template, count: 1)
            return Int(
                LZ4_compress_fast_continue(
                    stream.baseAddress!,
                    value.baseAddress!.assumingMemoryBound(to: CChar.self),
                    destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(value.count),
                    Int32(destination.count),
                    1
                )
            )
        }
    }

    /// Decompresses into exactly `rawLength` bytes, or returns nil when the input is corrupt.
    func decompress(_ compressed: UnsafeRawBufferPointer, rawLength: Int) -> [UInt8]? {
        var ok = false
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, initialized in
            let n = LZ4_decompress_safe_usingDict(
                compressed.baseAddress!.assumingMemoryBound(to: CChar.self),
                UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(compressed.count),
                Int32(rawLength),
                storage.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count)
            )
            ok = n == Int32(rawLength)
            initialized = ok ? rawLength : 0
        }
        return ok ? out : nil
    }
}
