import RingstoreCore

/// One key of a leader-mode partition's applied state: its current value and the log
/// position that wrote it. A deleted key has no item.
public struct PartitionStateItem: Sendable, Equatable {
    public var key: [UInt8]
    public var position: LogPosition
    public var value: [UInt8]

    public init(key: [UInt8], position: LogPosition, value: [UInt8]) {
        self.key = key
        self.position = position
        self.value = value
    }

    /// Record value in the node's store: epoch (u64 LE), sequence (u64 LE), value. The key
    /// is in the record's key (docs/log-format.md).
    public func encodedValue() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + value.count)
        w.write(position.epoch.value)
        w.write(position.sequence)
        w.write(bytes: value)
        return w.bytes
    }

    /// Decodes what `encodedValue()` wrote for `key`.
    public static func decode(key: [UInt8], _ bytes: [UInt8]) throws(RingstoreError) -> PartitionStateItem {
        var r = ByteReader(bytes)
        guard let epoch: UInt64 = r.read(), let sequence: UInt64 = r.read(), sequence > 0,
            let value = r.read(count: r.remaining)
        else { throw RingstoreError(.storage, "a partition state record is malformed (\(bytes.count) bytes)") }
        return PartitionStateItem(
            key: key, position: LogPosition(epoch: Epoch(epoch), sequence: sequence), value: value)
    }
}

/// What a replica keeps durably beside its state: how far its log is applied to it, the
/// epoch history (which survives the log's trimming: `after=` tokens below the log's start
/// are judged by it), and whether a snapshot is being installed (the state is then
/// incomplete: a replica that opens finding this set starts over empty).
public struct PartitionStateMark: Sendable, Equatable {
    public var applied: LogPosition
    public var history: EpochHistory
    public var installing: Bool

    public init(applied: LogPosition, history: EpochHistory, installing: Bool = false) {
        self.applied = applied
        self.history = history
        self.installing = installing
    }

    /// A replica that holds nothing.
    public static let empty = PartitionStateMark(applied: .start, history: EpochHistory())

    /// Record value: format (u8, 1), installing (u8), applied epoch and sequence (u64 LE
    /// each), the number of epochs (u32 LE), then each epoch and its first sequence (u64 LE).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 22 + 16 * history.starts.count)
        w.write(UInt8(1))
        w.write(installing ? UInt8(1) : 0)
        w.write(applied.epoch.value)
        w.write(applied.sequence)
        w.write(UInt32(history.starts.count))
        for (epoch, start) in history.starts {
            w.write(epoch.value)
            w.write(start)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> PartitionStateMark {
        var r = ByteReader(bytes)
        guard let format: UInt8 = r.read(), format == 1, let installing: UInt8 = r.read(), installing <= 1,
            let epoch: UInt64 = r.read(), let sequence: UInt64 = r.read(), let count: UInt32 = r.read(),
            r.remaining == Int(count) * 16
        else { throw RingstoreError(.storage, "a partition's state mark is malformed (\(bytes.count) bytes)") }
        var history = EpochHistory()
        for _ in 0..<count {
            guard let started: UInt64 = r.read(), let start: UInt64 = r.read() else {
                throw RingstoreError(.storage, "a partition's state mark is malformed")
            }
            history.begin(Epoch(started), at: start)
        }
        return PartitionStateMark(
            applied: LogPosition(epoch: Epoch(epoch), sequence: sequence), history: history, installing: installing == 1
        )
    }
}

/// Reads a partition replica's applied state (synchronously, as `LeaderLogReader` reads
/// its log): only what was reported applied (or installed) is asked for.
public protocol PartitionStateReader: Sendable {
    /// The key's item, nil when the state does not hold it.
    func item(_ key: [UInt8]) throws(RingstoreError) -> PartitionStateItem?
    /// Every key the state holds, in one stable order (a snapshot pages through it).
    func keys() throws(RingstoreError) -> [[UInt8]]
}
