import Replication
import RingstoreCore
import Testing

@Suite struct HintReplayTests {
    let a = NodeID("a"), b = NodeID("b")

    @Test func theWindowBoundsHintsInFlight() {
        var replay = HintReplay<Int>(bytesPerSecond: 1_000_000, inFlightMax: 2)
        let may1 = replay.maySend(1, to: a, now: 0)
        #expect(may1)
        replay.sent(1, to: a, bytes: 10)
        let may2 = replay.maySend(1, to: a, now: 0)
        #expect(!may2, "a hint in flight is not sent twice")
        replay.sent(2, to: a, bytes: 10)
        let may3 = replay.maySend(3, to: b, now: 0)
        #expect(!may3, "the window is full")
        replay.finished(1, succeeded: true, now: 1)
        let may4 = replay.maySend(3, to: b, now: 1)
        #expect(may4)
    }

    @Test func theByteBudgetRefillsWithTimeAndAllowsOneOversizeHint() {
        var replay = HintReplay<Int>(bytesPerSecond: 1000, inFlightMax: 100)
        let may5 = replay.maySend(1, to: a, now: 0)
        #expect(may5)
        replay.sent(1, to: a, bytes: 5000)
        replay.finished(1, succeeded: true, now: 0)
        let may6 = replay.maySend(2, to: a, now: 3000)
        #expect(!may6, "4000 bytes of debt take four seconds to pay")
        let may7 = replay.maySend(2, to: a, now: 4001)
        #expect(may7)
        // Over ten seconds at most ~1000 bytes/s go out, whatever the hint sizes.
        var sentBytes = 0
        for millis in stride(from: UInt64(5000), to: 15000, by: 10) {
            while replay.maySend(Int(millis), to: a, now: millis) {
                replay.sent(Int(millis), to: a, bytes: 100)
                replay.finished(Int(millis), succeeded: true, now: millis)
                sentBytes += 100
            }
        }
        #expect(sentBytes <= 11_100 && sentBytes >= 9_000, "sent \(sentBytes) bytes in 10 s at 1000/s")
    }

    @Test func anOwnerThatFailedBacksOffDoublingAndRecoversOnSuccess() {
        var replay = HintReplay<Int>(
            bytesPerSecond: 1_000_000, inFlightMax: 10, backoffMillis: 100, backoffMaxMillis: 300)
        replay.sent(1, to: a, bytes: 1)
        replay.finished(1, succeeded: false, now: 1000)
        let may8 = replay.maySend(2, to: a, now: 1050)
        #expect(!may8)
        let may9 = replay.maySend(2, to: b, now: 1050)
        #expect(may9, "other owners are not held back")
        let may10 = replay.maySend(2, to: a, now: 1100)
        #expect(may10)
        replay.sent(2, to: a, bytes: 1)
        replay.finished(2, succeeded: false, now: 1100)
        let may11 = replay.maySend(3, to: a, now: 1299)
        #expect(!may11, "the back-off doubled")
        replay.sent(3, to: a, bytes: 1)
        replay.finished(3, succeeded: false, now: 1300)
        replay.sent(4, to: a, bytes: 1)
        replay.finished(4, succeeded: false, now: 1300)
        let may12 = replay.maySend(5, to: a, now: 1600)
        #expect(may12, "capped at 300 ms")
        replay.sent(5, to: a, bytes: 1)
        replay.finished(5, succeeded: true, now: 1600)
        replay.sent(6, to: a, bytes: 1)
        replay.finished(6, succeeded: false, now: 1600)
        let may13 = replay.maySend(7, to: a, now: 1700)
        #expect(may13, "a success reset the back-off")
    }
}

extension HintReplayTests {
    @Test func anOwnerTheDetectorTrustsAgainIsRetriedAtOnce() {
        var replay = HintReplay<Int>(bytesPerSecond: 1_000_000, inFlightMax: 10, backoffMillis: 5000)
        replay.sent(1, to: a, bytes: 1)
        replay.finished(1, succeeded: false, now: 1000)
        let waiting = replay.maySend(2, to: a, now: 1001)
        #expect(!waiting)
        replay.ownerRecovered(a)
        let resumed = replay.maySend(2, to: a, now: 1001)
        #expect(resumed)
    }
}
