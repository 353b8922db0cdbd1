import CLZ4

/// Decides per value whether LZ4 pays, and compresses it (with the store's dictionary
/// when it has one). Incompressible values are stored raw.
enum ValueCompressor {
    /// Values shorter than this are never compressed: the header cost eats the gain.
    static let compressBytesMin = 64

    /// The compressed bytes when they save at least an eighth of the value, else nil.
    static func compress(_ value: [UInt8], dictionary: CompressionDictionary?) -> [UInt8]? {
        guard value.count >= compressBytesMin else { return nil }
        let bound = Int(LZ4_compressBound(Int32(value.count)))
        let keepBytesMax = value.count - value.count / 8
        var length = 0
        let out = [UInt8](unsafeUninitializedCapacity: bound) { buf, initialized in
            value.withUnsafeBytes { src in
                let dst = UnsafeMutableRawBufferPointer(buf)
                if let dictionary {
                    length = dictionary.compress(src, into: dst)
                } else {
                    length = Int(
                        LZ4_compress_default(
                            src.baseAddress!.assumingMemoryBound(to: CChar.self),
                            dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                            Int32(src.count),
                            Int32(dst.count)
                        )
                    )
                }
            }
            initialized = max(length, 0)
        }
        guard length > 0, length <= keepBytesMax else { return nil }
        return out
    }

    static func decompress(_ stored: [UInt8], rawLength: Int, dictionary: CompressionDictionary?) -> [UInt8]? {
        guard rawLength >= 0, rawLength <= Int(Int32.max) else { return nil }
        if let dictionary {
            return stored.withUnsafeBytes { dictionary.decompress($0, rawLength: rawLength) }
        }
        var ok = false
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, initialized in
            stored.withUnsafeBytes { src in
                let n = LZ4_decompress_safe(
                    src.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(src.count),
                    Int32(rawLength)
                )
                ok = n == Int32(rawLength)
            }
            initialized = ok ? rawLength : 0
        }
        return ok ? out : nil
    }
}
