import RingstoreCore

/// One entry of a leader-mode partition's replication log: a write (or a delete, value
/// nil) of one key at a log position, or the entry a new leader writes first in its
/// epoch (no key: `isEpochStart`). Client keys are never empty, so the two cannot meet.
public struct LeaderEntry: Sendable, Equatable {
    public var position: LogPosition
    public var key: [UInt8]
    public var value: [UInt8]?

    public init(position: LogPosition, key: [UInt8], value: [UInt8]?) {
        self.position = position
        self.key = key
        self.value = value
    }

    /// The first entry of a leader's epoch: once it is committed, everything earlier
    /// leaders acknowledged is committed in this epoch too (Raft's no-op entry), which is
    /// when a new leader may serve lease reads.
    public static func epochStart(at position: LogPosition) -> LeaderEntry {
        LeaderEntry(position: position, key: [], value: nil)
    }

    /// Whether this is an epoch's first entry rather than a client's write.
    public var isEpochStart: Bool { key.isEmpty }

    /// Record value: epoch (u64 LE), flags (u8: 1 = a value follows the key, 0 = a delete,
    /// 2 = an epoch start, with no key), key length (u32 LE), key, value. The sequence
    /// number is in the record's key.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 13 + key.count + (value?.count ?? 0))
        w.write(position.epoch.value)
        w.write(isEpochStart ? UInt8(2) : value == nil ? UInt8(0) : 1)
        w.write(UInt32(key.count))
        w.write(bytes: key)
        if let value { w.write(bytes: value) }
        return w.bytes
    }

    /// Decodes a record value written by `encoded()` for the entry at `sequence`.
    public static func decode(_ bytes: [UInt8], sequence: UInt64) throws(RingstoreError) -> LeaderEntry {
        var r = ByteReader(bytes)
        guard let epoch: UInt64 = r.read(), let flags: UInt8 = r.read(), flags <= 2, let length: UInt32 = r.read(),
            let key = r.read(count: Int(length)), key.isEmpty == (flags == 2)
        else { throw RingstoreError(.storage, "log entry \(sequence) is malformed (\(bytes.count) bytes)") }
        let value = flags == 1 ? r.read(count: r.remaining) : nil
        return LeaderEntry(position: LogPosition(epoch: Epoch(epoch), sequence: sequence), key: key, value: value)
    }
}
