import Replication
import RingstoreCore
import Testing

@Suite struct QuorumWriteTests {
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c")

    @Test func sendsToEveryReplicaAndSucceedsAtTheLevel() {
        var write = QuorumWrite(replicas: [a, b, c], required: 2)
        #expect(write.start() == [.send(to: a), .send(to: b), .send(to: c)])
        #expect(write.handle(.accepted(b)) == [])
        #expect(write.handle(.accepted(b)) == [], "a duplicate acknowledgement counts once")
        #expect(write.handle(.accepted(a)) == [.respond(.succeeded(acknowledged: [b, a]))])
        #expect(write.handle(.accepted(c)) == [], "nothing happens after the answer")
        #expect(write.isFinished)
    }

    @Test func failsOnceEveryReplicaAnsweredAndSaysWhereTheWriteLanded() {
        var write = QuorumWrite(replicas: [a, b, c], required: 3)
        _ = write.start()
        #expect(write.handle(.rejected(b, reason: "down")) == [], "a and c may still accept")
        #expect(write.handle(.accepted(a)) == [])
        #expect(
            write.handle(.accepted(c))
                == [.respond(.failed(required: 3, acknowledged: [a, c], reasons: ["b: down"]))])
    }

    @Test func theDeadlineReportsWhatWasAcknowledged() {
        var write = QuorumWrite(replicas: [a, b, c], required: 2)
        _ = write.start()
        _ = write.handle(.accepted(c))
        #expect(write.handle(.deadlinePassed) == [.respond(.failed(required: 2, acknowledged: [c], reasons: []))])
    }

    @Test func aLevelAboveTheReplicaCountFailsWithoutSending() {
        var write = QuorumWrite(replicas: [a], required: 2)
        #expect(write.start() == [.respond(.failed(required: 2, acknowledged: [], reasons: ["only 1 replicas"]))])
    }

    @Test func answersFromStrangersAreIgnored() {
        var write = QuorumWrite(replicas: [a, b], required: 1)
        _ = write.start()
        #expect(write.handle(.accepted(c)) == [])
        #expect(!write.isFinished)
    }
}
