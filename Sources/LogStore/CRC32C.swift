import CCRC32C

/// CRC32C (Castagnoli), the checksum of every record, hint file and dictionary.
public enum CRC32C {
    public static func checksum(_ bytes: some ContiguousBytes, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { ringstore_crc32c_extend(seed, $0.baseAddress, $0.count) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        ringstore_crc32c_extend(seed, bytes.baseAddress, bytes.count)
    }

    /// Whether this CPU computes it with the SSE4.2 instruction.
    public static var isHardwareAccelerated: Bool { ringstore_crc32c_is_hardware() != 0 }
}

/// Byte containers whose storage is contiguous (a local stand-in for Foundation's protocol,
/// which the pure targets do not import).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
