import PropertyBased
import RingstoreCore
import Testing

/// A committed plan moves partitions in versions of the ring: copying (the old owners
/// count, the new ones receive writes), draining (the new ones count, the old ones still
/// receive writes), done. Writes of any version reach every node that counts in the
/// version before and the version after it, so a coordinator one version behind never
/// misses an owner that counts.
@Suite struct PartitionMoveTests {
    /// The nodes a write under `ring` reaches for a keyspace of `n` replicas.
    static func reached(_ ring: Ring, _ partition: Int, _ n: Int) -> Set<NodeID> {
        let p = PartitionID(partition)
        return Set(ring.owners(p, replicationFactor: n)).union(ring.uncountedOwners(p, replicationFactor: n))
    }

    @Test func aJoinCopiesThenDrainsThenEnds() throws {
        let three = RingClaimTests.names(1...3)
        let start = try Ring(partitionCount: 16, nodes: three)
        let plan = RingClaim.claim(from: start.assignment(replicas: 3), nodes: three + [NodeID("n4")])
        let committed = try start.committing(plan, members: three + [NodeID("n4")])
        #expect(committed.version == 2 && committed.nodes.contains(NodeID("n4")))
        #expect(committed.moves.count == start.assignment(replicas: 3).moves(to: plan))
        // Nothing counts on n4 yet; it receives the writes of the partitions it takes.
        for move in committed.moves {
            #expect(!committed.owners(PartitionID(move.partition), replicationFactor: 3).contains(NodeID("n4")))
            #expect(committed.uncountedOwners(PartitionID(move.partition), replicationFactor: 3) == [NodeID("n4")])
            #expect(move.required == [NodeID("n4")])
        }
        // A second commit waits for the first.
        #expect(throws: RingstoreError.self) { try committed.committing(plan, members: three) }
        let move = try #require(committed.moves.first)
        let flipped = try #require(committed.recording(done: NodeID("n4"), partition: move.partition, phase: .copying))
        #expect(flipped.version == 3)
        #expect(flipped.owners(PartitionID(move.partition), replicationFactor: 3) == move.target)
        #expect(flipped.move(PartitionID(move.partition))?.phase == .draining)
        #expect(flipped.recording(done: NodeID("n4"), partition: move.partition, phase: .copying) == nil)
        #expect(flipped.recording(done: NodeID("n1"), partition: move.partition, phase: .draining) == nil)
    }

    @Test func severalCopiesAreRecordedAsOneVersion() throws {
        let three = RingClaimTests.names(1...3)
        let start = try Ring(partitionCount: 16, nodes: three)
        let plan = RingClaim.claim(from: start.assignment(replicas: 3), nodes: three + [NodeID("n4")])
        let committed = try start.committing(plan, members: three + [NodeID("n4")])
        let steps = committed.moves.map { ($0.partition, PartitionMove.Phase.copying) }
        let flipped = try #require(committed.recording(done: NodeID("n4"), steps))
        #expect(flipped.version == committed.version + 1)
        #expect(flipped.moves.allSatisfy { $0.phase == .draining && $0.since == flipped.version })
        let ended = try #require(
            flipped.recording(done: NodeID("n4"), flipped.moves.map { ($0.partition, .draining) }))
        #expect(ended.moves.isEmpty && ended.version == committed.version + 2)
        #expect(ended.assignment(replicas: 3) == plan)
        #expect(ended.recording(done: NodeID("n4"), steps) == nil)
    }

    @Test func randomPlansEndInTheirClaimAndEveryVersionReachesItsNeighboursOwners() async {
        await propertyCheck(count: 100, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var random = SeededRandom(seed: seed)
            var members = RingClaimTests.names(1...Int((random.next() % 5) + 1))
            var ring = try! Ring(partitionCount: 16, nodes: members)
            var fresh = members.count + 1
            for _ in 0..<3 {
                // A join, a leave or a replace, or two at once.
                var next = members
                for _ in 0...(random.next() % 2) {
                    switch random.next() % 3 {
                    case 0:
                        next.append(NodeID("n\(fresh)"))
                        fresh += 1
                    case 1 where next.count > 1: next.remove(at: Int(random.next() % UInt64(next.count)))
                    default:
                        next[Int(random.next() % UInt64(next.count))] = NodeID("n\(fresh)")
                        fresh += 1
                    }
                }
                let plan = RingClaim.claim(from: ring.assignment(replicas: 3), nodes: next)
                var versions = [try! ring.committing(plan, members: next)]
                // Copies finish in a random order until every move ended.
                while let current = versions.last, !current.moves.isEmpty {
                    let move = current.moves[Int(random.next() % UInt64(current.moves.count))]
                    let waiting = move.required.filter { !move.done.contains($0) }
                    let node = waiting[Int(random.next() % UInt64(waiting.count))]
                    let advanced = current.recording(done: node, partition: move.partition, phase: move.phase)
                    #expect(advanced != nil && advanced!.version == current.version + 1)
                    versions.append(advanced ?? current)
                    if advanced == nil { return }
                }
                for (older, newer) in zip([ring] + versions, versions) {
                    for partition in 0..<16 {
                        // A keyspace never has more replicas than the cluster has nodes.
                        for n in 1...min(3, members.count, next.count) {
                            let counted = { (r: Ring) in Set(r.owners(PartitionID(partition), replicationFactor: n)) }
                            #expect(Self.reached(newer, partition, n).isSuperset(of: counted(older)))
                            #expect(Self.reached(older, partition, n).isSuperset(of: counted(newer)))
                        }
                    }
                }
                let final = versions.last!
                #expect(final.assignment(replicas: 3) == plan)
                #expect(Set(final.nodes) == Set(next))
                members = next
                ring = final
            }
        }
    }
}
