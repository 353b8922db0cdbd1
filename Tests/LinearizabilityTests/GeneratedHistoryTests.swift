import Linearizability
import PropertyBased
import RingstoreCore
import Testing

/// Histories produced by a real register: each operation takes effect at a random instant
/// between its call and its return, so every such history is linearizable; changing one
/// read to a value nobody wrote must make it not.
@Suite struct GeneratedHistoryTests {
    /// A history of `clients` clients, each running `perClient` operations in turn.
    static func history(seed: UInt64, clients: Int, perClient: Int) -> [RegisterOperation] {
        var random = SeededRandom(seed: seed)
        // (client, call, effect instant, return, kind 0 write / 1 read / 2 cas, lost)
        var planned: [(client: Int, call: Int64, effect: Int64, returned: Int64, kind: Int, unknown: Bool)] = []
        for client in 0..<clients {
            var now = Int64(random.below(5))
            for _ in 0..<perClient {
                let call = now
                let effect = call + Int64(random.below(6))
                let returned = effect + Int64(random.below(6))
                let kind = [0, 0, 1, 1, 1, 2][random.below(6)]
                planned.append((client, call, effect, returned, kind, kind != 1 && random.below(10) == 0))
                now = returned + 1 + Int64(random.below(4))
            }
        }
        var value: String? = nil
        var operations: [RegisterOperation] = []
        var written = 0
        for plan in planned.sorted(by: { ($0.effect, $0.client) < ($1.effect, $1.client) }) {
            // An operation with unknown outcome took effect or not, at random.
            let happens = !plan.unknown || random.below(2) == 0
            let returned = plan.unknown ? nil : plan.returned
            switch plan.kind {
            case 0:
                written += 1
                let new = "v\(written)"
                if happens { value = new }
                operations.append(.init(client: plan.client, action: .write(new), call: plan.call, returned: returned))
            case 1:
                operations.append(
                    .init(client: plan.client, action: .read(value), call: plan.call, returned: plan.returned))
            default:
                written += 1
                let new = "v\(written)"
                let expected = random.below(2) == 0 ? value : "v\(random.below(written + 1))"
                let matches = expected == value
                if happens, matches { value = new }
                operations.append(
                    .init(
                        client: plan.client,
                        action: .compareAndSet(expected: expected, new: new, succeeded: plan.unknown ? nil : matches),
                        call: plan.call, returned: returned))
            }
        }
        return operations
    }

    @Test func historiesOfARealRegisterAreLinearizable() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 1...5), Gen.int(in: 1...12)) {
            seed, clients, perClient in
            let operations = Self.history(seed: seed, clients: clients, perClient: perClient)
            #expect(LinearizabilityChecker().check(key: "k", operations) == .linearizable)
        }
    }

    @Test func aReadOfAValueNobodyWroteIsCaught() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 1...5), Gen.int(in: 2...12)) {
            seed, clients, perClient in
            var operations = Self.history(seed: seed, clients: clients, perClient: perClient)
            guard
                let index = operations.firstIndex(where: {
                    if case .read = $0.action { $0.returned != nil } else { false }
                })
            else { return }
            operations[index].action = .read("never written")
            if case .notLinearizable = LinearizabilityChecker().check(key: "k", operations) {
            } else {
                Issue.record("seed \(seed): a read of a value never written passed")
            }
        }
    }
}

extension SeededRandom {
    /// A number in `0..<bound`.
    fileprivate mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
