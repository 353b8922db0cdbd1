import RingstoreCore
import RingstoreServer
import Testing

/// The ring as etcd keeps it: the round-robin form `cluster init` writes (no version, no
/// owners) still reads; a claimed ring keeps its owners and version.
@Suite struct RingDocumentTests {
    @Test func theInitialFormStillReadsAndAClaimedRingRoundTrips() throws {
        let legacy = try #require(
            ClusterMetadata.decode(
                ClusterMetadata.RingDocument.self, Array(#"{"nodes":["n1","n2","n3"],"partitions":64}"#.utf8)))
        #expect(legacy.version == nil && legacy.owners == nil)
        let roundRobin = try legacy.ring()
        #expect(!roundRobin.isAssigned)

        let nodes = (1...4).map { NodeID("n\($0)") }
        let claimed = try Ring(
            assignment: RingClaim.claim(from: roundRobin.assignment(replicas: 3), nodes: nodes), nodes: nodes,
            version: 2)
        let document = ClusterMetadata.RingDocument(ring: claimed)
        let decoded = try #require(
            ClusterMetadata.decode(ClusterMetadata.RingDocument.self, ClusterMetadata.encode(document)))
        #expect(decoded.version == 2)
        #expect(try decoded.ring() == claimed)
    }

    @Test func aRingThatMovesPartitionsRoundTrips() throws {
        let three = (1...3).map { NodeID("n\($0)") }
        let start = try Ring(partitionCount: 16, nodes: three)
        let plan = RingClaim.claim(from: start.assignment(replicas: 3), nodes: three + [NodeID("n4")])
        var ring = try start.committing(plan, members: three + [NodeID("n4")])
        let first = try #require(ring.moves.first)
        ring = try #require(ring.recording(done: first.required[0], partition: first.partition, phase: .copying))
        let document = ClusterMetadata.RingDocument(ring: ring)
        let decoded = try #require(
            ClusterMetadata.decode(ClusterMetadata.RingDocument.self, ClusterMetadata.encode(document)))
        #expect(try decoded.ring() == ring)
        var badPhase = decoded
        badPhase.moves![0].phase = "sideways"
        #expect(throws: RingstoreError.self) { try badPhase.ring() }
    }

    @Test func ownersThatDoNotFitTheRingAreRefused() {
        let short = ClusterMetadata.RingDocument(partitions: 4, nodes: ["n1"], version: 2, owners: [["n1"]])
        #expect(throws: RingstoreError.self) { try short.ring() }
        let stranger = ClusterMetadata.RingDocument(
            partitions: 2, nodes: ["n1"], version: 2, owners: [["n1"], ["n7"]])
        #expect(throws: RingstoreError.self) { try stranger.ring() }
    }
}
