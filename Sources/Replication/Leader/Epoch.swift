import RingstoreCore

/// A partition leader's term: the etcd revision at which it won the election. Strictly
/// increasing, it is the fencing token every replication message carries.
public struct Epoch: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    public static let none = Epoch(0)

    public static func < (a: Epoch, b: Epoch) -> Bool { a.value < b.value }

    public var description: String { String(value) }
}

/// Where an entry sits in a partition's replication log: the epoch of the leader that
/// wrote it and its sequence number (1, 2, ... across epochs; 0 is the empty log). A
/// write's (epoch, sequence) is the token `after=` waits for.
public struct LogPosition: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var epoch: Epoch
    public var sequence: UInt64

    public init(epoch: Epoch, sequence: UInt64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    public static let start = LogPosition(epoch: .none, sequence: 0)

    public static func < (a: LogPosition, b: LogPosition) -> Bool {
        (a.sequence, a.epoch) < (b.sequence, b.epoch)
    }

    public var description: String { "\(epoch.value).\(sequence)" }

    /// Parses a token as a client sends it back (`after=`, `If-Match`): `EPOCH.SEQUENCE`.
    public init(parsing text: some StringProtocol) throws(RingstoreError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let epoch = UInt64(parts[0]), let sequence = UInt64(parts[1]), sequence > 0 else {
            throw RingstoreError(
                .invalidParameter, "'\(text)' is not a leader-mode version; it looks like 12.345 (epoch.sequence)")
        }
        self.init(epoch: Epoch(epoch), sequence: sequence)
    }
}
