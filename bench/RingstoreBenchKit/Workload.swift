import RingstoreCore

/// What one operation of a workload does.
public enum OperationKind: String, Sendable, CaseIterable, Codable, Comparable {
    case read
    case update
    case insert
    /// Read a record, then write it back (YCSB's read-modify-write); its latency covers both.
    case readModifyWrite = "read-modify-write"

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The YCSB core workloads and a write-only one: a mix of operations and a default
/// request distribution.
public enum Workload: String, Sendable, CaseIterable, Codable {
    /// 50% reads, 50% updates (update heavy; a session store).
    case a
    /// 95% reads, 5% updates (read mostly; photo tagging).
    case b
    /// Reads only (a user profile cache).
    case c
    /// 95% reads, 5% inserts, reads skewed to the newest records (status updates).
    case d
    /// 50% reads, 50% read-modify-writes (a user database).
    case f
    /// Updates only.
    case write

    /// Each operation kind with its share, summing to 1.
    public var mix: [(OperationKind, Double)] {
        switch self {
        case .a: [(.read, 0.5), (.update, 0.5)]
        case .b: [(.read, 0.95), (.update, 0.05)]
        case .c: [(.read, 1)]
        case .d: [(.read, 0.95), (.insert, 0.05)]
        case .f: [(.read, 0.5), (.readModifyWrite, 0.5)]
        case .write: [(.update, 1)]
        }
    }

    /// YCSB's request distribution for the workload.
    public var defaultDistribution: RequestDistribution {
        self == .d ? .latest : .zipfian
    }

    /// Draws the next operation kind.
    public func nextKind(using random: inout SeededRandom) -> OperationKind {
        let u = random.unit()
        var sum = 0.0
        for (kind, share) in mix {
            sum += share
            if u < sum { return kind }
        }
        return mix[mix.count - 1].0
    }
}
