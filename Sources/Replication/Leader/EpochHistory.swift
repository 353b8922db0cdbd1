/// The epochs of a replica's log and the sequence each began at (Kafka's leader-epoch
/// cache): enough to find where two logs part without comparing entries.
public struct EpochHistory: Sendable, Equatable, Codable {
    /// (epoch, first sequence written in it), epochs increasing, starts non-decreasing.
    public private(set) var starts: [(epoch: Epoch, start: UInt64)]

    public init() { starts = [] }

    public static func == (a: EpochHistory, b: EpochHistory) -> Bool {
        a.starts.elementsEqual(b.starts) { $0.epoch == $1.epoch && $0.start == $1.start }
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        starts = []
        while !container.isAtEnd {
            let pair = try container.decode([UInt64].self)
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "an epoch start is [epoch, start]")
            }
            starts.append((Epoch(pair[0]), pair[1]))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for (epoch, start) in starts { try container.encode([epoch.value, start]) }
    }

    /// The epoch of the log's last entry (or of the last epoch begun), `.none` when empty.
    public var lastEpoch: Epoch { starts.last?.epoch ?? .none }

    /// Records that entries from `sequence` on belong to `epoch` (a leader's first write,
    /// or a follower appending the first entry of a new epoch). Older or equal epochs
    /// change nothing.
    public mutating func begin(_ epoch: Epoch, at sequence: UInt64) {
        guard epoch > lastEpoch else { return }
        starts.append((epoch, sequence))
    }

    /// The epoch of the entry at `sequence`, `.none` for 0.
    public func epoch(of sequence: UInt64) -> Epoch {
        guard sequence > 0 else { return .none }
        return starts.last { $0.start <= sequence }?.epoch ?? .none
    }

    /// For a log ending at `last`: the largest epoch at or below `epoch` and the last
    /// sequence written in it (0 when the log has no such epoch). Kafka's
    /// OffsetsForLeaderEpoch.
    public func end(of epoch: Epoch, last: UInt64) -> (epoch: Epoch, end: UInt64) {
        guard let index = starts.lastIndex(where: { $0.epoch <= epoch }) else { return (.none, 0) }
        let end = index + 1 < starts.count ? starts[index + 1].start - 1 : last
        return (starts[index].epoch, min(end, last))
    }

    /// Forgets epochs that begin after `sequence` (the log was cut there).
    public mutating func truncate(after sequence: UInt64) {
        starts.removeAll { $0.start > sequence }
    }
}
