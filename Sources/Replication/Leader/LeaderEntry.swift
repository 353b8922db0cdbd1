import RingstoreCore

/// One entry of a leader-mode partition's replication log: a write (or a delete, value
/// nil) of one key at a log position.
public struct LeaderEntry: Sendable, Equatable {
    public var position: LogPosition
    public var key: [UInt8]
    public var value: [UInt8]?

    public init(position: LogPosition, key: [UInt8], value: [UInt8]?) {
        self.position = position
        self.key = key
        self.value = value
    }

    /// Record value: epoch (u64 LE), flags (u8: 1 = a value follows the key), key length
    /// (u32 LE), key, value. The sequence number is in the record's key.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(13 + key.count + (value?.count ?? 0))
        withUnsafeBytes(of: position.epoch.value.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(value == nil ? 0 : 1)
        withUnsafeBytes(of: UInt32(key.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: key)
        if let value { bytes.append(contentsOf: value) }
        return bytes
    }

    /// Decodes a record value written by `encoded()` for the entry at `sequence`.
    public static func decode(_ bytes: [UInt8], sequence: UInt64) throws(RingstoreError) -> LeaderEntry {
        guard bytes.count >= 13 else {
            throw RingstoreError(.storage, "log entry \(sequence) is \(bytes.count) bytes, too short")
        }
        var epoch: UInt64 = 0
        for index in 0..<8 { epoch |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        let hasValue = bytes[8] == 1
        var length = 0
        for index in 0..<4 { length |= Int(bytes[9 + index]) << (8 * index) }
        guard bytes[8] <= 1, bytes.count >= 13 + length else {
            throw RingstoreError(.storage, "log entry \(sequence) is malformed")
        }
        let key = Array(bytes[13..<(13 + length)])
        let value = hasValue ? Array(bytes[(13 + length)...]) : nil
        return LeaderEntry(position: LogPosition(epoch: Epoch(epoch), sequence: sequence), key: key, value: value)
    }
}
