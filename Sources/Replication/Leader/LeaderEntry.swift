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
        var w = ByteWriter(capacity: 13 + key.count + (value?.count ?? 0))
        w.write(position.epoch.value)
        w.write(value == nil ? UInt8(0) : 1)
        w.write(UInt32(key.count))
        w.write(bytes: key)
        if let value { w.write(bytes: value) }
        return w.bytes
    }

    /// Decodes a record value written by `encoded()` for the entry at `sequence`.
    public static func decode(_ bytes: [UInt8], sequence: UInt64) throws(RingstoreError) -> LeaderEntry {
        var r = ByteReader(bytes)
        guard let epoch: UInt64 = r.read(), let flags: UInt8 = r.read(), flags <= 1, let length: UInt32 = r.read(),
            let key = r.read(count: Int(length))
        else { throw RingstoreError(.storage, "log entry \(sequence) is malformed (\(bytes.count) bytes)") }
        let value = flags == 1 ? r.read(count: r.remaining) : nil
        return LeaderEntry(position: LogPosition(epoch: Epoch(epoch), sequence: sequence), key: key, value: value)
    }
}
