import Replication
import RingstoreCore
import Testing

/// The receiving side of a partition copy, events in and actions out: it fetches only
/// the keys whose digests differ, paces by the bytes received, repeats a failed request
/// after a back-off, and falls back to the next group of sources when one keeps failing.
@Suite struct PartitionTransferTests {
    static let (a, b, c) = (NodeID("a"), NodeID("b"), NodeID("c"))

    static func object(_ byte: UInt8) -> ReplicaObject {
        ReplicaObject(policy: .lww).updated(
            value: [byte], contentType: nil, timestamp: HybridTimestamp(physicalMillis: UInt64(byte), logical: 0),
            context: .empty, replica: a, counterFloor: 0
        ).object
    }

    /// Answers every digest request with `theirs` restricted to its buckets (all keys in
    /// bucket 0 here) and objects for every key asked; returns the keys fetched.
    static func drive(
        _ transfer: inout PartitionTransfer, theirs: [[UInt8]: UInt64], mine: [[UInt8]: UInt64]
    ) -> (fetched: [[UInt8]], outcome: PartitionTransfer.Outcome?) {
        var fetched: [[UInt8]] = []
        var actions = transfer.start()
        var steps = 0
        while let action = actions.first, steps < 1_000 {
            steps += 1
            actions.removeFirst()
            switch action {
            case .fetchDigests(_, let buckets):
                let inRange = buckets.contains(0)
                actions += transfer.handle(.digests(theirs: inRange ? theirs : [:], mine: inRange ? mine : [:]))
            case .fetchObjects(_, let keys):
                fetched += keys
                let items = keys.map { TransferredObject(storageKey: $0, object: object($0[0])) }
                actions += transfer.handle(.objects(items, bytes: keys.count * 10))
            case .store: actions += transfer.handle(.stored)
            case .pace, .wait: actions += transfer.handle(.resume)
            case .finish(let outcome): return (fetched, outcome)
            }
        }
        return (fetched, nil)
    }

    @Test func onlyKeysThatDifferAreFetchedAndEveryBucketIsAsked() {
        let theirs: [[UInt8]: UInt64] = [[1]: 11, [2]: 22, [3]: 33]
        var transfer = PartitionTransfer(sources: [[Self.a]], keysPerRequest: 2)
        let (fetched, outcome) = Self.drive(&transfer, theirs: theirs, mine: [[1]: 11, [2]: 99])
        #expect(fetched == [[2], [3]])
        #expect(outcome == .copied(keys: 2, bytes: 20))
    }

    @Test func aSecondPassOverEqualReplicasFetchesNothing() {
        let same: [[UInt8]: UInt64] = [[1]: 11, [2]: 22]
        var transfer = PartitionTransfer(sources: [[Self.a, Self.b]])
        let (fetched, outcome) = Self.drive(&transfer, theirs: same, mine: same)
        #expect(fetched.isEmpty && outcome == .copied(keys: 0, bytes: 0))
    }

    @Test func aFailedRequestIsRepeatedAfterABackOff() {
        var transfer = PartitionTransfer(sources: [[Self.a]])
        let first = transfer.start()
        #expect(first == [.fetchDigests(from: Self.a, buckets: Array(0..<16))])
        #expect(transfer.handle(.failed("reset")) == [.wait(millis: 200)])
        #expect(transfer.handle(.failed("again")) == [], "nothing is outstanding during a wait")
        #expect(transfer.handle(.resume) == first)
    }

    @Test func aSourceThatKeepsFailingGivesWayToTheNextGroupAndTheLastGroupGivesUp() {
        var transfer = PartitionTransfer(sources: [[Self.a], [Self.b, Self.c]], attemptsMax: 2)
        _ = transfer.start()
        _ = transfer.handle(.failed("down"))
        _ = transfer.handle(.resume)
        // Two failures of a: the copy starts over from b, the first of the next group.
        #expect(transfer.handle(.failed("down")) == [.fetchDigests(from: Self.b, buckets: Array(0..<16))])
        _ = transfer.handle(.failed("down"))
        _ = transfer.handle(.resume)
        let last = transfer.handle(.failed("down"))
        guard case .finish(.failed(let reason))? = last.first else {
            Issue.record("expected the copy to give up: \(last)")
            return
        }
        #expect(reason.contains("b"))
        #expect(PartitionTransfer(sources: []).isFinished == false)
        var none = PartitionTransfer(sources: [[]])
        #expect(none.start() == [.finish(.failed("no replica to copy from"))])
    }

    @Test func objectsOtherThanThoseAskedCountAsAFailure() {
        var transfer = PartitionTransfer(sources: [[Self.a]])
        _ = transfer.start()
        let asked = transfer.handle(.digests(theirs: [[5]: 1], mine: [:]))
        #expect(asked == [.fetchObjects(from: Self.a, keys: [[5]])])
        let wrong = transfer.handle(
            .objects([TransferredObject(storageKey: [6], object: Self.object(6))], bytes: 10))
        #expect(wrong == [.wait(millis: 200)])
        #expect(transfer.handle(.resume) == asked)
    }
}
