import PropertyBased
import Replication
import Testing

@Suite struct FailureDetectorTests {
    func detector(heartbeatEvery interval: UInt64, count: Int = 50) -> (FailureDetector, UInt64) {
        var detector = FailureDetector()
        var now: UInt64 = 10_000
        for _ in 0..<count {
            detector.heard(atMillis: now)
            now += interval
        }
        return (detector, now - interval)
    }

    @Test func aPeerHeardRegularlyIsNotSuspectedAndSilenceMakesItSo() {
        let (detector, last) = detector(heartbeatEvery: 100)
        #expect(detector.phi(atMillis: last + 100) < 1)
        #expect(!detector.isSuspected(atMillis: last + 300))
        #expect(detector.isSuspected(atMillis: last + 2_000))
    }

    @Test func suspicionAdaptsToTheLink() {
        let (fast, fastLast) = detector(heartbeatEvery: 20)
        let (slow, slowLast) = detector(heartbeatEvery: 1_000)
        // The same silence is damning for a fast link and normal for a slow one.
        #expect(fast.phi(atMillis: fastLast + 900) > slow.phi(atMillis: slowLast + 900))
        #expect(!slow.isSuspected(atMillis: slowLast + 1_100))
    }

    @Test func nothingIsSuspectedBeforeAnythingWasLearned() {
        var detector = FailureDetector()
        #expect(detector.phi(atMillis: 5) == 0)
        detector.heard(atMillis: 5)
        #expect(detector.phi(atMillis: 1_000_000) == 0)
    }

    @Test func phiGrowsWithSilence() async {
        await propertyCheck(count: 200, input: Gen.uint64(in: 5...2_000), Gen.uint64(in: 0...10_000)) {
            interval, silence in
            let (detector, last) = detector(heartbeatEvery: interval, count: 20)
            #expect(detector.phi(atMillis: last + silence) <= detector.phi(atMillis: last + silence + 50))
        }
    }
}
