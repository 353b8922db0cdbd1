import Replication
import RingstoreCore
import Testing

@Suite struct QuorumWriteTests {
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c"), d = NodeID("d"), e = NodeID("e")

    @Test func sendsToEveryReplicaAndSucceedsAtTheLevel() {
        var write = QuorumWrite(replicas: [a, b, c], required: 2)
        #expect(write.start() == [.send(to: a), .send(to: b), .send(to: c)])
        #expect(write.handle(.accepted(b)) == [])
        #expect(write.handle(.accepted(b)) == [], "a duplicate acknowledgement counts once")
        #expect(write.handle(.accepted(a)) == [.respond(.succeeded(acknowledged: [b, a], hinted: []))])
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

    @Test func aSloppyWriteReplacesASuspectedOwnerAtOnce() {
        var write = QuorumWrite(replicas: [a, b, c], required: 2, fallbacks: [d, e], suspected: [b])
        #expect(write.start() == [.send(to: a), .sendHint(to: d, owner: b), .send(to: c)])
        #expect(write.handle(.accepted(d)) == [])
        #expect(write.handle(.accepted(a)) == [.respond(.succeeded(acknowledged: [d, a], hinted: [b]))])
    }

    @Test func aRejectingOwnerIsReplacedByTheNextFallbackAndAFailingFallbackByTheOneAfter() {
        var write = QuorumWrite(replicas: [a, b, c], required: 3, fallbacks: [d, e])
        _ = write.start()
        #expect(write.handle(.rejected(c, reason: "refused")) == [.sendHint(to: d, owner: c)])
        #expect(write.handle(.rejected(d, reason: "refused")) == [.sendHint(to: e, owner: c)], "e stands in for c")
        #expect(write.handle(.accepted(a)) == [])
        #expect(write.handle(.accepted(b)) == [])
        #expect(write.handle(.accepted(e)) == [.respond(.succeeded(acknowledged: [a, b, e], hinted: [c]))])
    }

    @Test func aSloppyWriteFailsOnceFallbacksRunOut() {
        var write = QuorumWrite(replicas: [a, b], required: 2, fallbacks: [c])
        _ = write.start()
        #expect(write.handle(.rejected(a, reason: "down")) == [.sendHint(to: c, owner: a)])
        #expect(write.handle(.rejected(b, reason: "down")) == [], "c may still accept")
        #expect(
            write.handle(.rejected(c, reason: "full"))
                == [.respond(.failed(required: 2, acknowledged: [], reasons: ["a: down", "b: down", "c: full"]))])
    }

    @Test func aStrictWriteIgnoresSuspicionAndNeverUsesAFallback() {
        var write = QuorumWrite(replicas: [a, b], required: 1, suspected: [b])
        #expect(write.start() == [.send(to: a), .send(to: b)])
        #expect(
            write.handle(.rejected(b, reason: "down")) == [], "without fallbacks a rejection only counts")
        #expect(write.handle(.accepted(a)) == [.respond(.succeeded(acknowledged: [a], hinted: []))])
    }

    @Test func fallbacksThatAreOwnersAreNotUsed() {
        let write = QuorumWrite(replicas: [a, b], required: 1, fallbacks: [b, c])
        #expect(write.fallbacks == [c])
    }
}
