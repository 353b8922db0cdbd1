/// Decides whether register histories are linearizable: the Wing & Gong search with
/// Lowe's memoization of (operations linearized, register value), as Porcupine does it,
/// one key at a time (linearizability is local: a history is linearizable when each
/// key's is).
///
/// Operations with unknown outcome are given a return after every other event: a write
/// that may have happened can take effect anywhere after its call, and placing it last
/// is the same as it never happening. Reads with unknown outcome constrain nothing and are
/// dropped.
public struct LinearizabilityChecker: Sendable {
    /// What a check found.
    public enum Verdict: Sendable, Equatable {
        case linearizable
        /// No order fits; `operations` are that key's operations in call order, `linearized`
        /// the most of them any attempt could place.
        case notLinearizable(key: String, operations: [RegisterOperation], linearized: Int)
        /// The search ran past `stepLimit` for `key` without an answer.
        case undecided(key: String)
    }

    /// Search steps allowed per key before giving up with `.undecided`.
    public var stepLimit: Int

    public init(stepLimit: Int = 5_000_000) {
        self.stepLimit = stepLimit
    }

    /// Checks every key's history; the first key that fails decides the verdict.
    public func check(_ history: [String: [RegisterOperation]]) -> Verdict {
        for key in history.keys.sorted() {
            let verdict = check(key: key, history[key]!)
            if verdict != .linearizable { return verdict }
        }
        return .linearizable
    }

    /// Checks one key's operations.
    public func check(key: String, _ operations: [RegisterOperation]) -> Verdict {
        let kept = operations.filter {
            if case .read = $0.action, $0.returned == nil { return false }
            return true
        }.sorted { $0.call < $1.call }
        var search = Search(operations: kept)
        switch search.run(stepLimit: stepLimit) {
        case .some(true): return .linearizable
        case .some(false): return .notLinearizable(key: key, operations: kept, linearized: search.deepest)
        case .none: return .undecided(key: key)
        }
    }
}

/// The register's transition: whether `action` can take effect on `value`, and the
/// value after it.
func step(_ value: String?, _ action: RegisterOperation.Action) -> (Bool, String?) {
    switch action {
    case .write(let new):
        return (true, new)
    case .read(let seen):
        return (seen == value, value)
    case .compareAndSet(let expected, let new, let succeeded):
        let matches = expected == value
        switch succeeded {
        case .some(true): return (matches, matches ? new : value)
        case .some(false): return (!matches, value)
        case .none: return (true, matches ? new : value)
        }
    }
}
