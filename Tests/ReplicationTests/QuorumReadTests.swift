import Replication
import RingstoreCore
import Testing

@Suite struct QuorumReadTests {
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c")

    func object(_ value: String, dot: Dot, clock: VersionVector) -> ReplicaObject {
        ReplicaObject(
            policy: .vv,
            siblings: [Sibling(dot: dot, timestamp: .zero, value: Array(value.utf8), contentType: nil)], clock: clock)
    }

    @Test func answersWithTheMergeAtTheLevelThenRepairsStaleReplicas() {
        let old = object("old", dot: Dot(node: a, counter: 1), clock: VersionVector([a: 1]))
        let new = object("new", dot: Dot(node: a, counter: 2), clock: VersionVector([a: 2]))
        var read = QuorumRead(replicas: [a, b, c], required: 2)
        #expect(read.start() == [.send(to: a), .send(to: b), .send(to: c)])
        #expect(read.handle(.answered(a, new)) == [])
        #expect(read.handle(.answered(b, old)) == [.respond(.value(new, answered: [a, b]))])
        #expect(read.handle(.answered(c, nil)) == [.repair(b, new), .repair(c, new)])
        #expect(read.isFinished)
    }

    @Test func concurrentAnswersMergeIntoSiblings() {
        let x = object("x", dot: Dot(node: a, counter: 1), clock: VersionVector([a: 1]))
        let y = object("y", dot: Dot(node: b, counter: 1), clock: VersionVector([b: 1]))
        var read = QuorumRead(replicas: [a, b], required: 2)
        _ = read.start()
        _ = read.handle(.answered(a, x))
        let actions = read.handle(.answered(b, y))
        guard case .respond(.value(let merged?, _)) = actions.first else {
            Issue.record("no answer: \(actions)")
            return
        }
        #expect(merged.liveSiblings.map(\.value) == [Array("x".utf8), Array("y".utf8)])
        #expect(actions.count == 3, "both replicas miss the other's sibling")
    }

    @Test func failsWithHowManyAnswered() {
        var read = QuorumRead(replicas: [a, b, c], required: 3)
        _ = read.start()
        _ = read.handle(.answered(a, nil))
        #expect(read.handle(.failed(b, reason: "refused")) == [])
        #expect(
            read.handle(.answered(c, nil))
                == [.respond(.failed(required: 3, answered: [a, c], reasons: ["b: refused"]))])
    }

    @Test func theDeadlineAnswersAndRepairsWithWhatArrived() {
        let x = object("x", dot: Dot(node: a, counter: 1), clock: VersionVector([a: 1]))
        var read = QuorumRead(replicas: [a, b, c], required: 1)
        _ = read.start()
        #expect(read.handle(.answered(b, nil)) == [.respond(.value(nil, answered: [b]))])
        #expect(read.handle(.answered(a, x)) == [])
        #expect(read.handle(.deadlinePassed) == [.repair(b, x)])
        #expect(read.handle(.answered(c, nil)) == [])
    }
}
