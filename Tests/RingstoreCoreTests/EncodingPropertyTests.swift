import PropertyBased
import RingstoreCore
import Testing

@Suite struct EncodingPropertyTests {
    @Test func base64URLRoundTrips() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...200)) { bytes in
            let text = Base64URL.encode(bytes)
            #expect(Base64URL.decode(text) == bytes)
            #expect(
                text.utf8.allSatisfy { $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "=") })
        }
    }

    @Test func causalContextRoundTrips() async {
        await propertyCheck(
            count: 300, input: Gen.uint64(in: 0...(1 << 48)), Gen.uint32(in: 0...1000),
            Gen.letterOrNumber.string(of: 1...12)
        ) { millis, logical, node in
            let context = CausalContext(clock: VersionVector([NodeID(node): millis, NodeID("n1"): UInt64(logical)]))
            #expect((try? CausalContext(decoding: context.encoded)) == context)
        }
    }

    @Test func garbageContextsAreRejectedNotCrashed() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...64)) { bytes in
            // Any bytes, base64-encoded: decoding either fails cleanly or round-trips.
            let text = Base64URL.encode(bytes)
            if let context = try? CausalContext(decoding: text) {
                #expect((try? CausalContext(decoding: context.encoded)) == context)
            }
        }
    }

    @Test func garbageObjectsAreRejectedNotCrashed() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...80)) { bytes in
            if let object = ReplicaObject(decoding: bytes) {
                #expect(ReplicaObject(decoding: object.encoded()) == object)
            }
        }
    }

    @Test func byteReaderNeverReadsPastTheEnd() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...20)) { bytes in
            var reader = ByteReader(bytes)
            while reader.read(UInt32.self) != nil {}
            #expect(reader.remaining < 4)
            #expect(reader.read(count: reader.remaining + 1) == nil)
        }
    }
}
