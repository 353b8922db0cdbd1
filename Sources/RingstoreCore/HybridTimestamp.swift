/// A hybrid logical clock reading: wall-clock milliseconds and a logical counter,
/// ordered lexicographically, with the writing node as the final tie-break.
public struct HybridTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var physicalMillis: UInt64
    public var logical: UInt32

    public init(physicalMillis: UInt64, logical: UInt32) {
        self.physicalMillis = physicalMillis
        self.logical = logical
    }

    public static let zero = HybridTimestamp(physicalMillis: 0, logical: 0)

    public static func < (lhs: HybridTimestamp, rhs: HybridTimestamp) -> Bool {
        (lhs.physicalMillis, lhs.logical) < (rhs.physicalMillis, rhs.logical)
    }

    public var description: String { "\(physicalMillis).\(logical)" }
}

/// A hybrid logical clock (Kulkarni et al.): never goes backwards even when the wall
/// clock does, and stays close to it. Pure: the caller passes the wall-clock reading.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HybridTimestamp

    public init(last: HybridTimestamp = .zero) { self.last = last }

    /// A timestamp for a local event, given the wall clock now.
    public mutating func tick(wallMillis: UInt64) -> HybridTimestamp {
        if wallMillis > last.physicalMillis {
            last = HybridTimestamp(physicalMillis: wallMillis, logical: 0)
        } else {
            last.logical += 1
        }
        return last
    }

    /// Merges a timestamp seen from elsewhere (a peer, or a record read back on recovery).
    public mutating func observe(_ remote: HybridTimestamp, wallMillis: UInt64) -> HybridTimestamp {
        let physical = max(wallMillis, last.physicalMillis, remote.physicalMillis)
        var logical: UInt32 = 0
        if physical == last.physicalMillis && physical == remote.physicalMillis {
            logical = max(last.logical, remote.logical) + 1
        } else if physical == last.physicalMillis {
            logical = last.logical + 1
        } else if physical == remote.physicalMillis {
            logical = remote.logical + 1
        }
        last = HybridTimestamp(physicalMillis: physical, logical: logical)
        return last
    }
}
