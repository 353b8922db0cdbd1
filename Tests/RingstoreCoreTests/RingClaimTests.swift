import PropertyBased
import RingstoreCore
import Testing

/// The claim that moves little (issue 16, item 3): after any change every node holds
/// floor or ceil of its share of replicas and of primaries, each partition's owners are
/// distinct, and the replicas moved stay within 1.25x of the least any balanced claim
/// needs.
@Suite struct RingClaimTests {
    static func names(_ numbers: some Sequence<Int>) -> [NodeID] { numbers.map { NodeID("n\($0)") } }

    /// The claim's promises for `ring` over `nodes`; a description of the first broken one.
    static func problems(_ ring: RingAssignment, nodes: [NodeID]) -> [String] {
        var found: [String] = []
        let width = min(ring.replicas, nodes.count)
        for (partition, owners) in ring.owners.enumerated() {
            if owners.count != width || Set(owners).count != owners.count || !Set(owners).isSubset(of: nodes) {
                found.append("partition \(partition) owners \(owners)")
            }
        }
        func balanced(_ counts: [NodeID: Int], total: Int, _ what: String) {
            let least = total / nodes.count
            let most = least + (total % nodes.count == 0 ? 0 : 1)
            for node in nodes where !(least...most).contains(counts[node, default: 0]) {
                found.append("\(node) holds \(counts[node, default: 0]) \(what), not \(least)...\(most)")
            }
        }
        balanced(ring.replicaCounts(), total: ring.partitionCount * width, "replicas")
        balanced(ring.primaryCounts(), total: ring.partitionCount, "primaries")
        return found
    }

    @Test(arguments: [(64, 3), (256, 3), (64, 5), (16, 2)])
    func initialClaimsAreBalanced(partitions: Int, replicas: Int) {
        for n in 1...12 where n <= partitions {
            let nodes = Self.names(1...n)
            let ring = RingClaim.initial(partitionCount: partitions, replicas: replicas, nodes: nodes)
            #expect(Self.problems(ring, nodes: nodes).isEmpty, "\(n) nodes: \(Self.problems(ring, nodes: nodes))")
        }
    }

    @Test func aJoinMovesOnlyTheNewNodesShareAndALeaveOnlyTheLeaversReplicas() {
        let three = RingClaim.initial(partitionCount: 64, replicas: 3, nodes: Self.names(1...3))
        let four = RingClaim.claim(from: three, nodes: Self.names(1...4))
        // n4 takes its 48 of the 192 replicas, and nothing else moves.
        #expect(three.moves(to: four) == 48 && RingClaim.minimumMoves(from: three, nodes: Self.names(1...4)) == 48)
        #expect(Self.problems(four, nodes: Self.names(1...4)).isEmpty)
        let back = RingClaim.claim(from: four, nodes: Self.names(1...3))
        #expect(four.moves(to: back) == 48, "only n4's replicas move")
        // Replacing a node moves exactly its replicas, to the replacement.
        let replaced = RingClaim.claim(from: four, nodes: Self.names([1, 2, 4, 5]))
        #expect(four.moves(to: replaced) == four.replicaCounts()[NodeID("n3")])
        #expect(Set(replaced.replicaCounts().keys) == Set(Self.names([1, 2, 4, 5])))
        // The same nodes again move nothing.
        #expect(four.moves(to: RingClaim.claim(from: four, nodes: Self.names(1...4))) == 0)
    }

    @Test func randomSequencesOfJoinsAndLeavesStayBalancedAndMoveLittle() async {
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var random = SeededRandom(seed: seed)
            let partitions = [16, 64, 256][Int(random.next() % 3)]
            let replicas = Int(random.next() % 3) + 2
            var nodes = Set(Self.names(1...Int(random.next() % 5 + 1)))
            var next = nodes.count + 1
            var ring = RingClaim.initial(partitionCount: partitions, replicas: replicas, nodes: Array(nodes))
            for step in 0..<10 {
                // Join one or two, leave one or two, or replace one.
                var changed = nodes
                switch random.next() % 3 {
                case 0:
                    for _ in 0...(random.next() % 2) {
                        changed.insert(NodeID("n\(next)"))
                        next += 1
                    }
                case 1 where nodes.count > 1:
                    for _ in 0...(random.next() % 2) where changed.count > 1 {
                        changed.remove(changed.sorted()[Int(random.next() % UInt64(changed.count))])
                    }
                default:
                    changed.remove(changed.sorted()[Int(random.next() % UInt64(changed.count))])
                    changed.insert(NodeID("n\(next)"))
                    next += 1
                }
                guard changed.count <= partitions else { continue }
                let claimed = RingClaim.claim(from: ring, nodes: Array(changed))
                let problems = Self.problems(claimed, nodes: Array(changed))
                #expect(problems.isEmpty, "seed \(seed) step \(step): \(problems.prefix(3))")
                let moved = ring.moves(to: claimed)
                let least = RingClaim.minimumMoves(from: ring, nodes: Array(changed))
                #expect(
                    Double(moved) <= 1.25 * Double(least), "seed \(seed) step \(step): moved \(moved), least \(least)")
                ring = claimed
                nodes = changed
            }
        }
    }
}

/// A ring whose owners are explicit, as a claim left them.
@Suite struct AssignedRingTests {
    @Test func preferenceListsStartWithTheOwnersAndFallBackOnEveryOtherNode() throws {
        let nodes = RingClaimTests.names(1...5)
        let claimed = RingClaim.initial(partitionCount: 64, replicas: 3, nodes: nodes)
        let ring = try Ring(assignment: claimed, nodes: nodes)
        #expect(ring.isAssigned)
        for partition in 0..<64 {
            let list = ring.preferenceList(PartitionID(partition))
            #expect(Array(list.prefix(3)) == claimed.owners[partition])
            #expect(Set(list) == Set(nodes) && list.count == 5)
            #expect(ring.owners(PartitionID(partition), replicationFactor: 3) == claimed.owners[partition])
        }
        #expect(ring.primaryCounts() == claimed.primaryCounts())
        // A member that owns nothing (it just joined) is still a fallback.
        let joined = try Ring(assignment: claimed, nodes: nodes + [NodeID("n6")])
        #expect(joined.preferenceList(PartitionID(0)).count == 6)
    }

    @Test func aRoundRobinRingReadsBackAsTheSameAssignment() throws {
        let ring = try Ring(partitionCount: 64, nodes: RingClaimTests.names(1...4))
        let assignment = ring.assignment(replicas: 3)
        let explicit = try Ring(assignment: assignment, nodes: ring.nodes)
        for partition in 0..<64 {
            #expect(
                explicit.owners(PartitionID(partition), replicationFactor: 3)
                    == ring.owners(PartitionID(partition), replicationFactor: 3))
        }
        // A claim from it for the same nodes moves nothing.
        #expect(assignment.moves(to: RingClaim.claim(from: assignment, nodes: ring.nodes)) == 0)
    }

    @Test func ownersThatAreNotDistinctMembersAreRefused() {
        let bad = RingAssignment(
            partitionCount: 2, replicas: 2, owners: [[NodeID("n1"), NodeID("n1")], [NodeID("n1"), NodeID("n2")]])
        #expect(throws: RingstoreError.self) { try Ring(assignment: bad, nodes: [NodeID("n1"), NodeID("n2")]) }
        let stranger = RingAssignment(partitionCount: 2, replicas: 1, owners: [[NodeID("n9")], [NodeID("n1")]])
        #expect(throws: RingstoreError.self) { try Ring(assignment: stranger, nodes: [NodeID("n1")]) }
    }
}
