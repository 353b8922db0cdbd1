import Replication
import RingstoreCore
import Testing

@Suite struct TombstonePurgeTests {
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c"), d = NodeID("d")

    var tombstone: ReplicaObject {
        ReplicaObject(policy: .vv).updated(
            value: nil, contentType: nil, timestamp: .zero, context: .empty, replica: NodeID("a.1")
        ).object
    }

    var value: ReplicaObject {
        ReplicaObject(policy: .vv).updated(
            value: [1], contentType: nil, timestamp: .zero, context: .empty, replica: NodeID("b.1")
        ).object
    }

    @Test func purgesWhenEveryOwnerHasTheTombstoneOrNothingAndNoNodeKeepsAHint() {
        var purge = TombstonePurge(tombstone: tombstone, owners: [a, b, c], nodes: [a, b, c, d], me: a)
        #expect(purge.start() == [.ask(b), .ask(c), .ask(d)])
        #expect(purge.handle(.answered(b, object: tombstone, keepsHint: false)) == [])
        #expect(purge.handle(.answered(c, object: nil, keepsHint: false)) == [], "c purged it already")
        #expect(
            purge.handle(.answered(d, object: value, keepsHint: false))
                == [.purge(owners: [a, b, c], object: tombstone)], "d is no owner: what it holds does not matter")
    }

    @Test func anOwnerWithAnotherVersionKeepsTheKey() {
        var purge = TombstonePurge(tombstone: tombstone, owners: [a, b, c], nodes: [a, b, c], me: a)
        _ = purge.start()
        #expect(
            purge.handle(.answered(c, object: value, keepsHint: false))
                == [.keep(reason: "c holds another version of the key")])
        #expect(purge.handle(.answered(b, object: tombstone, keepsHint: false)) == [])
    }

    @Test func aHintAnywhereOrASilentNodeKeepsTheKey() {
        var hinted = TombstonePurge(tombstone: tombstone, owners: [a, b], nodes: [a, b, c], me: a)
        _ = hinted.start()
        #expect(
            hinted.handle(.answered(c, object: nil, keepsHint: true)) == [.keep(reason: "c keeps a hint for the key")])
        var silent = TombstonePurge(tombstone: tombstone, owners: [a, b], nodes: [a, b, c], me: a)
        _ = silent.start()
        _ = silent.handle(.answered(b, object: tombstone, keepsHint: false))
        #expect(silent.handle(.failed(c, reason: "timeout")) == [.keep(reason: "c did not answer: timeout")])
    }

    @Test func aKeyWithAValueIsNeverPurged() {
        var purge = TombstonePurge(tombstone: value, owners: [a], nodes: [a], me: a)
        #expect(purge.start() == [.keep(reason: "the key has a value")])
    }
}
