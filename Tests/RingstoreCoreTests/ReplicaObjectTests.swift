import PropertyBased
import RingstoreCore
import Testing

/// Random histories of three replicas writing with fresh, stale or no contexts and
/// merging each other's states: every state they pass through.
private func states(seed: UInt64, policy: ConflictPolicy, steps: Int = 24) -> [ReplicaObject] {
    var random = SeededRandom(seed: seed)
    let nodes = [NodeID("a"), NodeID("b"), NodeID("c")]
    var replicas = Array(repeating: ReplicaObject(policy: policy), count: 3)
    var seen: [ReplicaObject] = []
    for step in 0..<steps {
        let i = Int.random(in: 0..<3, using: &random)
        if Bool.random(using: &random) {
            let context: VersionVector =
                switch Int.random(in: 0..<3, using: &random) {
                case 0: replicas[i].clock
                case 1: seen.randomElement(using: &random)?.clock ?? .empty
                default: .empty
                }
            let value: [UInt8]? = Int.random(in: 0..<5, using: &random) == 0 ? nil : [UInt8(step)]
            let timestamp = HybridTimestamp(physicalMillis: UInt64.random(in: 0..<8, using: &random), logical: 0)
            replicas[i] =
                replicas[i].updated(
                    value: value, contentType: nil, timestamp: timestamp, context: context, replica: nodes[i]
                ).object
        } else {
            replicas[i] = replicas[i].merged(with: replicas[Int.random(in: 0..<3, using: &random)])
        }
        seen.append(replicas[i])
    }
    return seen
}

@Suite struct ReplicaObjectTests {
    let a = NodeID("a"), b = NodeID("b")

    @Test func aWriteWithTheContextItReadReplacesWhatItSaw() {
        let empty = ReplicaObject(policy: .vv)
        let first = empty.updated(value: [1], contentType: nil, timestamp: .zero, context: .empty, replica: a).object
        let second = first.updated(value: [2], contentType: nil, timestamp: .zero, context: first.clock, replica: a)
            .object
        #expect(second.liveSiblings.map(\.value) == [[2]])
    }

    @Test func aWriteWithoutContextBecomesASibling() {
        let empty = ReplicaObject(policy: .vv)
        let first = empty.updated(value: [1], contentType: nil, timestamp: .zero, context: .empty, replica: a).object
        let second = first.updated(value: [2], contentType: nil, timestamp: .zero, context: .empty, replica: a).object
        #expect(second.liveSiblings.map(\.value) == [[1], [2]])
        let resolved = second.updated(
            value: [3], contentType: nil, timestamp: .zero, context: second.clock, replica: b
        ).object
        #expect(resolved.liveSiblings.map(\.value) == [[3]])
    }

    @Test func concurrentWritesOnTwoReplicasMergeIntoSiblingsAndAResolutionWins() {
        let base = ReplicaObject(policy: .vv)
            .updated(value: [0], contentType: nil, timestamp: .zero, context: .empty, replica: a).object
        let onA = base.updated(value: [1], contentType: nil, timestamp: .zero, context: base.clock, replica: a).object
        let onB = base.merged(with: base)
            .updated(value: [2], contentType: nil, timestamp: .zero, context: base.clock, replica: b).object
        let merged = onA.merged(with: onB)
        #expect(merged.liveSiblings.map(\.value) == [[1], [2]])
        let resolved = merged.updated(value: [3], contentType: nil, timestamp: .zero, context: merged.clock, replica: b)
            .object
        #expect(resolved.merged(with: onA).liveSiblings.map(\.value) == [[3]], "a stale replica cannot revive [1]")
    }

    @Test func lastWriteWinsByTimestampThenNode() {
        let early = HybridTimestamp(physicalMillis: 10, logical: 0)
        let late = HybridTimestamp(physicalMillis: 11, logical: 0)
        let x = ReplicaObject(policy: .lww).updated(
            value: [1], contentType: nil, timestamp: late, context: .empty, replica: a
        ).object
        let y = ReplicaObject(policy: .lww).updated(
            value: [2], contentType: nil, timestamp: early, context: .empty, replica: b
        ).object
        #expect(x.merged(with: y).liveSiblings.map(\.value) == [[1]])
        #expect(y.merged(with: x) == x.merged(with: y))
    }

    @Test(arguments: [ConflictPolicy.vv, .lww])
    func mergeIsCommutativeAssociativeAndIdempotent(policy: ConflictPolicy) async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            let seen = states(seed: seed, policy: policy)
            var random = SeededRandom(seed: seed ^ 0x5eed)
            for _ in 0..<10 {
                let x = seen.randomElement(using: &random)!
                let y = seen.randomElement(using: &random)!
                let z = seen.randomElement(using: &random)!
                #expect(x.merged(with: y) == y.merged(with: x))
                #expect(x.merged(with: y).merged(with: z) == x.merged(with: y.merged(with: z)))
                #expect(x.merged(with: x) == x)
            }
        }
    }

    @Test(arguments: [ConflictPolicy.vv, .lww])
    func objectsRoundTripThroughTheirEncoding(policy: ConflictPolicy) async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            for object in states(seed: seed, policy: policy) {
                #expect(ReplicaObject(decoding: object.encoded()) == object)
            }
        }
    }
}
