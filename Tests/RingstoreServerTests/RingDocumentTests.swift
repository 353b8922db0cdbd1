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
            assignment: RingClaim.claim(from: roundRobin.assignment(replicas: 3), nodes: nodes), nodes: nodes)
        let document = ClusterMetadata.RingDocument(ring: claimed, version: 2)
        let decoded = try #require(
            ClusterMetadata.decode(ClusterMetadata.RingDocument.self, ClusterMetadata.encode(document)))
        #expect(decoded.version == 2)
        #expect(try decoded.ring() == claimed)
    }

    @Test func ownersThatDoNotFitTheRingAreRefused() {
        let short = ClusterMetadata.RingDocument(partitions: 4, nodes: ["n1"], version: 2, owners: [["n1"]])
        #expect(throws: RingstoreError.self) { try short.ring() }
        let stranger = ClusterMetadata.RingDocument(
            partitions: 2, nodes: ["n1"], version: 2, owners: [["n1"], ["n7"]])
        #expect(throws: RingstoreError.self) { try stranger.ring() }
    }
}
