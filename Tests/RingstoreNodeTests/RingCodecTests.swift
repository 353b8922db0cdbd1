import RingstoreCore
import Testing

@testable import RingstoreNode

/// The node's cached ring: round-robin rings in format 1, rings with explicit owners in
/// format 3 (with the version and moves); garbage is refused, not crashed on.
@Suite struct RingCodecTests {
    @Test func bothFormatsRoundTrip() throws {
        let nodes = (1...5).map { NodeID("n\($0)") }
        let roundRobin = try Ring(partitionCount: 64, nodes: nodes)
        #expect(try RingCodec.decode(RingCodec.encode(roundRobin)) == roundRobin)
        let assigned = try Ring(
            assignment: RingClaim.initial(partitionCount: 64, replicas: 3, nodes: nodes), nodes: nodes)
        #expect(RingCodec.encode(assigned).first == 3)
        #expect(try RingCodec.decode(RingCodec.encode(assigned)) == assigned)
    }

    @Test func aRingThatMovesPartitionsRoundTrips() throws {
        let nodes = (1...3).map { NodeID("n\($0)") }
        let start = try Ring(partitionCount: 16, nodes: nodes)
        let four = nodes + [NodeID("n4")]
        let ring = try start.committing(
            RingClaim.claim(from: start.assignment(replicas: 3), nodes: four), members: four)
        #expect(!ring.moves.isEmpty)
        #expect(try RingCodec.decode(RingCodec.encode(ring)) == ring)
    }

    @Test func everyTruncationIsRefused() throws {
        let nodes = (1...3).map { NodeID("n\($0)") }
        let start = try Ring(partitionCount: 16, nodes: nodes)
        let four = nodes + [NodeID("n4")]
        let bytes = RingCodec.encode(
            try start.committing(RingClaim.claim(from: start.assignment(replicas: 2), nodes: four), members: four))
        for length in 0..<bytes.count {
            #expect(throws: RingstoreError.self) { try RingCodec.decode(Array(bytes.prefix(length))) }
        }
    }
}
