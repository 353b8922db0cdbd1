import Replication
import RingstoreCore
import Testing

@Suite struct AntiEntropyExchangeTests {
    func tree(_ entries: [(position: UInt64, digest: UInt64)]) -> HashTree {
        var tree = HashTree()
        for entry in entries { tree.update(position: entry.position, old: nil, new: entry.digest) }
        return tree
    }

    @Test func leavesAreIndependentOfOrderAndUpdatesUndo() {
        let a = tree([(1, 10), (257, 20), (3, 30)])
        let b = tree([(3, 30), (1, 10), (257, 20)])
        #expect(a == b)
        var c = a
        c.update(position: 257, old: 20, new: 21)
        #expect(c.differingBuckets(from: a) == [1], "positions 1 and 257 share bucket 1")
        #expect(c.root != a.root)
        c.update(position: 257, old: 21, new: 20)
        #expect(c == a)
    }

    @Test func equalTreesFinishConvergedWithoutFetchingBuckets() {
        var exchange = AntiEntropyExchange()
        #expect(exchange.start() == [.fetchLeaves])
        let same = tree([(5, 1)])
        #expect(
            exchange.handle(.leaves(mine: same, theirs: same))
                == [.finish(.init(differingBuckets: 0, repairedKeys: 0, failedRepairs: 0))])
        #expect(exchange.isFinished)
    }

    @Test func onlyDifferingKeysOfDifferingBucketsAreRepairedInBatches() {
        var exchange = AntiEntropyExchange(bucketsPerRequest: 2)
        _ = exchange.start()
        let mine = tree([(1, 10), (2, 20), (3, 30)])
        let theirs = tree([(1, 10), (2, 21), (4, 40)])
        #expect(exchange.handle(.leaves(mine: mine, theirs: theirs)) == [.fetchBuckets([2, 3])])
        let k2: [UInt8] = [2]
        let k3: [UInt8] = [3]
        let k4: [UInt8] = [4]
        #expect(exchange.handle(.buckets([4], mine: [:], theirs: [:])) == [], "an answer to another batch")
        #expect(
            exchange.handle(.buckets([2, 3], mine: [k2: 20, k3: 30], theirs: [k2: 21]))
                == [.repair(k2), .repair(k3)])
        #expect(exchange.handle(.repaired(k2, succeeded: true)) == [])
        #expect(exchange.handle(.repaired(k3, succeeded: false)) == [.fetchBuckets([4])])
        // The peer's copy changed back meanwhile: nothing to repair in this bucket.
        #expect(
            exchange.handle(.buckets([4], mine: [k4: 40], theirs: [k4: 40]))
                == [.finish(.init(differingBuckets: 3, repairedKeys: 1, failedRepairs: 1))])
    }

    @Test func aFailureEndsTheExchangeUnconverged() {
        var exchange = AntiEntropyExchange()
        _ = exchange.start()
        let actions = exchange.handle(.failed("n2 did not answer"))
        guard case .finish(let outcome)? = actions.first else {
            Issue.record("expected a finish, got \(actions)")
            return
        }
        #expect(!outcome.converged && outcome.error == "n2 did not answer")
        #expect(exchange.handle(.failed("again")) == [])
    }
}
