import RingstoreCore
import Testing

@testable import LogStore

@Suite struct RecordCodecTests {
    @Test func roundTrip() {
        for i in 0..<50 {
            let record = sampleRecord(i, tombstone: i % 5 == 0)
            let encoded = RecordCodec.encode(record)
            #expect(
                encoded.count == RecordCodec.headerBytes + record.key.count + record.metadata.count
                    + record.storedValue.count)
            #expect(RecordCodec.decode(encoded) == .record(record, length: encoded.count))
        }
    }

    @Test func splitAnywhereDecodesTheSameRecords() {
        let records = (0..<6).map { sampleRecord($0, tombstone: $0 == 3) }
        let log = records.flatMap(RecordCodec.encode)
        for split in 0...log.count {
            var decoder = RecordStreamDecoder(startingAt: 0)
            var decoded: [Record] = []
            for chunk in [Array(log[0..<split]), Array(log[split...])] {
                decoder.feed(chunk)
                while case .record(let record, _, _) = decoder.next() { decoded.append(record) }
            }
            #expect(decoded == records, "split at \(split)")
            #expect(decoder.pendingBytes == 0)
        }
    }

    @Test func byteAtATimeDecodes() {
        let records = (0..<4).map { sampleRecord($0) }
        let log = records.flatMap(RecordCodec.encode)
        var decoder = RecordStreamDecoder(startingAt: 0)
        var decoded: [Record] = []
        for byte in log {
            decoder.feed([byte])
            while case .record(let record, _, _) = decoder.next() { decoded.append(record) }
        }
        #expect(decoded == records)
    }

    @Test func everyBitFlipIsDetected() {
        let log = (0..<3).flatMap { RecordCodec.encode(sampleRecord($0)) }
        for offset in 0..<log.count {
            for bit in [0, 3, 7] {
                var damaged = log
                damaged[offset] ^= UInt8(1 << bit)
                var decoder = RecordStreamDecoder(startingAt: 0)
                decoder.feed(damaged)
                var intact = 0
                var sawProblem = false
                loop: while true {
                    switch decoder.next() {
                    case .record: intact += 1
                    case .corrupt:
                        sawProblem = true
                        break loop
                    case .needMoreInput:
                        sawProblem = decoder.pendingBytes > 0
                        break loop
                    }
                }
                #expect(sawProblem && intact < 3, "flip of bit \(bit) at \(offset) went unnoticed")
            }
        }
    }

    @Test func truncationAtEveryOffsetIsIncompleteNotCorrupt() {
        let records = (0..<3).map { sampleRecord($0) }
        let encoded = records.map(RecordCodec.encode)
        let log = encoded.flatMap { $0 }
        for cut in 0..<log.count {
            var decoder = RecordStreamDecoder(startingAt: 0)
            decoder.feed(Array(log[0..<cut]))
            var whole = 0
            while case .record = decoder.next() { whole += 1 }
            var boundary = 0
            var expectedWhole = 0
            for record in encoded where boundary + record.count <= cut {
                boundary += record.count
                expectedWhole += 1
            }
            #expect(whole == expectedWhole, "cut at \(cut)")
            #expect(decoder.next() == .needMoreInput)
        }
    }

    @Test func garbageNeverCrashesTheDecoder() {
        var rng = SeededRandom(seed: 0xDEC0DE)
        for _ in 0..<2000 {
            let garbage = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var decoder = RecordStreamDecoder(startingAt: 0)
            decoder.feed(garbage)
            if case .record = decoder.next() {
                Issue.record("random bytes decoded as a record")
            }
        }
    }

    @Test func crc32cKnownAnswers() {
        // RFC 3720 appendix B.4 test vectors.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32) as [UInt8]) == 0x46DD_794E)
        #expect(CRC32C.checksum(bytes("123456789")) == 0xE306_9283)
        let text = bytes("hello, ringstore")
        #expect(CRC32C.checksum(text[8...], seed: CRC32C.checksum(text[..<8])) == CRC32C.checksum(text))
    }
}
