import Linearizability
import Testing

/// Histories small enough to decide by hand, each with the reason for its verdict.
@Suite struct HandWrittenHistoryTests {
    static func w(_ client: Int, _ value: String?, _ call: Int64, _ returned: Int64?) -> RegisterOperation {
        RegisterOperation(client: client, action: .write(value), call: call, returned: returned)
    }

    static func r(_ client: Int, _ value: String?, _ call: Int64, _ returned: Int64?) -> RegisterOperation {
        RegisterOperation(client: client, action: .read(value), call: call, returned: returned)
    }

    static func cas(
        _ client: Int, _ expected: String?, _ new: String?, _ succeeded: Bool?, _ call: Int64, _ returned: Int64?
    )
        -> RegisterOperation
    {
        RegisterOperation(
            client: client, action: .compareAndSet(expected: expected, new: new, succeeded: succeeded), call: call,
            returned: returned)
    }

    static let linearizable: [(String, [RegisterOperation])] = [
        ("empty", []),
        ("a read of nothing before any write", [r(0, nil, 0, 1)]),
        ("write, then a read of it", [w(0, "a", 0, 1), r(1, "a", 2, 3)]),
        ("a read overlapping a write sees the old value", [w(0, "a", 0, 1), w(0, "b", 2, 6), r(1, "a", 3, 4)]),
        ("a read overlapping a write sees the new value", [w(0, "a", 0, 1), w(0, "b", 2, 6), r(1, "b", 3, 4)]),
        (
            "two overlapping writes, reads agree on the later one",
            [w(0, "a", 0, 5), w(1, "b", 1, 4), r(2, "a", 6, 7), r(3, "a", 8, 9)]
        ),
        ("operations that touch at an instant may be ordered either way", [w(0, "a", 0, 2), r(1, nil, 2, 3)]),
        ("a write with unknown outcome that took effect", [w(0, "a", 0, nil), r(1, "a", 5, 6)]),
        ("a write with unknown outcome that never did", [w(0, "a", 0, nil), r(1, nil, 5, 6), r(1, nil, 7, 8)]),
        ("a read with unknown outcome constrains nothing", [w(0, "a", 0, 1), r(1, "zzz", 2, nil)]),
        ("create-only succeeds on nothing, then fails", [cas(0, nil, "a", true, 0, 1), cas(1, nil, "b", false, 2, 3)]),
        (
            "If-Match with the value a read returned",
            [w(0, "a", 0, 1), r(1, "a", 2, 3), cas(1, "a", "b", true, 4, 5), r(0, "b", 6, 7)]
        ),
    ]

    static let notLinearizable: [(String, [RegisterOperation])] = [
        ("a read of a value never written", [w(0, "a", 0, 1), r(1, "b", 2, 3)]),
        ("a stale read after the write finished", [w(0, "a", 0, 1), w(0, "b", 2, 3), r(1, "a", 4, 5)]),
        (
            "new then old: a later read goes back in time",
            [w(0, "a", 0, 1), w(0, "b", 2, 10), r(1, "b", 3, 4), r(2, "a", 5, 6)]
        ),
        (
            "an unknown write seen and then unseen",
            [w(0, "a", 0, 1), w(1, "b", 2, nil), r(2, "b", 3, 4), r(2, "a", 5, 6)]
        ),
        ("a lost acknowledged write", [w(0, "a", 0, 1), r(1, nil, 2, 3)]),
        ("two create-only writes both succeed", [cas(0, nil, "a", true, 0, 1), cas(1, nil, "b", true, 2, 3)]),
        ("a conditional write fails although it matched", [w(0, "a", 0, 1), cas(1, "a", "b", false, 2, 3)]),
    ]

    @Test(arguments: linearizable)
    func linearizableHistories(_ name: String, _ operations: [RegisterOperation]) {
        #expect(LinearizabilityChecker().check(key: "k", operations) == .linearizable, "\(name)")
    }

    @Test(arguments: notLinearizable)
    func nonLinearizableHistories(_ name: String, _ operations: [RegisterOperation]) {
        guard case .notLinearizable(let key, let kept, _) = LinearizabilityChecker().check(key: "k", operations) else {
            Issue.record("\(name) passed")
            return
        }
        #expect(key == "k")
        #expect(kept.count == operations.count)
    }

    @Test func keysAreCheckedApartAndTheFailingOneIsNamed() {
        let history = [
            "good": [Self.w(0, "a", 0, 1), Self.r(1, "a", 2, 3)],
            // Fine for its own key; only interleaved with "good" would it matter, and it does not.
            "also-good": [Self.r(0, nil, 0, 1)],
            "bad": [Self.w(0, "x", 0, 1), Self.r(1, nil, 2, 3)],
        ]
        guard case .notLinearizable(let key, _, let linearized) = LinearizabilityChecker().check(history) else {
            Issue.record("the history passed")
            return
        }
        #expect(key == "bad")
        #expect(linearized == 1)
    }

    @Test func anExhaustedBudgetIsUndecidedNotAVerdict() {
        var operations: [RegisterOperation] = []
        // Twelve concurrent writes and reads that fit no order: the search must try many.
        for i in 0..<12 { operations.append(Self.w(i, "v\(i)", 0, 100)) }
        operations.append(Self.r(99, "never", 101, 102))
        #expect(LinearizabilityChecker(stepLimit: 50).check(key: "k", operations) == .undecided(key: "k"))
        if case .notLinearizable = LinearizabilityChecker().check(key: "k", operations) {
        } else {
            Issue.record("the full search should reject the read of a value never written")
        }
    }
}
