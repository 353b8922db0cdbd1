import PropertyBased
import RingstoreCore
import Testing
import Wire

@Suite struct FrameDecoderTests {
    static let frames = [
        Frame(kind: 1, requestID: 7, payload: []),
        Frame(kind: 2, requestID: .max, payload: Array("hello".utf8)),
        Frame(kind: 255, requestID: 0, payload: [UInt8](repeating: 9, count: 300)),
    ]

    @Test func splitAnywhereDecodesTheSameFrames() throws {
        let stream = Self.frames.flatMap { $0.encoded() }
        for split in 0...stream.count {
            var decoder = FrameDecoder()
            var decoded: [Frame] = []
            for part in [stream[..<split], stream[split...]] {
                decoder.feed(part)
                while let frame = try decoder.next() { decoded.append(frame) }
            }
            #expect(decoded == Self.frames, "split at \(split)")
        }
    }

    @Test func byteAtATime() throws {
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in Self.frames.flatMap({ $0.encoded() }) {
            decoder.feed([byte])
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == Self.frames)
    }

    @Test func garbageIsAProtocolErrorOrIncompleteNeverACrash() async {
        await propertyCheck(count: 1000, input: Gen.uint8().array(of: 0...64)) { garbage in
            var decoder = FrameDecoder(frameBytesMax: 1024)
            decoder.feed(garbage)
            do {
                while try decoder.next() != nil {}
            } catch {
                // A protocol error: the caller closes the connection.
            }
        }
    }

    @Test func oversizedAndUndersizedFramesAreRefused() {
        var decoder = FrameDecoder(frameBytesMax: 100)
        decoder.feed(Frame(kind: 1, requestID: 1, payload: [UInt8](repeating: 0, count: 200)).encoded())
        #expect(throws: FrameDecoder.ProtocolError.self) { try decoder.next() }
        var short = FrameDecoder()
        short.feed([3, 0, 0, 0, 1, 1, 1])
        #expect(throws: FrameDecoder.ProtocolError.self) { try short.next() }
        var version = FrameDecoder()
        var bytes = Frame(kind: 1, requestID: 1, payload: []).encoded()
        bytes[4] = 9
        version.feed(bytes)
        #expect(throws: FrameDecoder.ProtocolError.self) { try version.next() }
    }
}
