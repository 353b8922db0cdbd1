/// Which nodes hold each partition, explicitly: `owners[p]` lists partition p's replicas
/// in preference order (its primary first), `replicas` of them (all nodes when there are
/// fewer). A keyspace with replication factor N uses the first N. The ring a cluster
/// changes through staged joins and leaves (issue 16) is kept in this form, so that a
/// change moves only what it must.
public struct RingAssignment: Sendable, Equatable {
    public let partitionCount: Int
    public let replicas: Int
    public private(set) var owners: [[NodeID]]

    public init(partitionCount: Int, replicas: Int, owners: [[NodeID]]) {
        precondition(owners.count == partitionCount, "\(owners.count) owner lists for \(partitionCount) partitions")
        self.partitionCount = partitionCount
        self.replicas = replicas
        self.owners = owners
    }

    /// Every node that holds a replica.
    public var nodes: Set<NodeID> { Set(owners.joined()) }

    /// How many replicas each node holds.
    public func replicaCounts() -> [NodeID: Int] { Self.replicaCounts(owners) }

    /// How many replicas each node holds in `owners` (partition -> owners).
    static func replicaCounts(_ owners: [[NodeID]]) -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for list in owners { for node in list { counts[node, default: 0] += 1 } }
        return counts
    }

    /// How many partitions each node is primary for.
    public func primaryCounts() -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        for list in owners { if let first = list.first { counts[first, default: 0] += 1 } }
        return counts
    }

    /// Partition replicas that `next` places on a node that did not hold them here: each is
    /// a partition's data streamed to a new owner.
    public func moves(to next: RingAssignment) -> Int {
        zip(owners, next.owners).reduce(0) { total, pair in total + Set(pair.1).subtracting(pair.0).count }
    }
}

/// Claims partitions for a set of nodes, moving as few partition replicas as it can
/// (Riak's claim and Cassandra's token allocation have the same aims): every node ends
/// with floor or ceil of its share of the replicas and of the primaries, each partition's
/// owners are distinct nodes, and a replica stays where it is unless its node leaves or
/// holds more than its share. Primaries are balanced by reordering owners only, which
/// moves no data. Pure and deterministic.
public enum RingClaim {
    /// The first claim of a ring: nobody holds anything yet.
    public static func initial(partitionCount: Int, replicas: Int, nodes: [NodeID]) -> RingAssignment {
        let empty = RingAssignment(
            partitionCount: partitionCount, replicas: replicas, owners: Array(repeating: [], count: partitionCount))
        return claim(from: empty, nodes: nodes)
    }

    /// A claim for `nodes` (joined, left or replaced since `current`) that keeps every
    /// replica it can.
    public static func claim(from current: RingAssignment, nodes: [NodeID]) -> RingAssignment {
        let members = Array(Set(nodes)).sorted()
        precondition(!members.isEmpty, "a ring needs at least one node")
        let width = min(current.replicas, members.count)
        let memberSet = Set(members)
        // Keep the owners that stay, in their order, as many as the width allows.
        var owners = current.owners.map { Array($0.filter(memberSet.contains).prefix(width)) }
        var held = RingAssignment.replicaCounts(owners)
        let targets = shares(total: current.partitionCount * width, members: members, held: held)
        // Nodes over their share give replicas back, each from a partition with the fewest
        // holes so far (holes spread out, so the nodes under their share can fill them
        // without swaps), and there from where it comes last in preference order.
        for node in members where held[node, default: 0] > targets[node]! {
            for _ in 0..<(held[node]! - targets[node]!) {
                var best: (partition: Int, holes: Int, position: Int)?
                for partition in owners.indices {
                    guard let position = owners[partition].firstIndex(of: node) else { continue }
                    let holes = width - owners[partition].count
                    if best == nil || (holes, -position) < (best!.holes, -best!.position) {
                        best = (partition, holes, position)
                    }
                }
                owners[best!.partition].remove(at: best!.position)
            }
            held[node] = targets[node]!
        }
        // Holes go to the nodes under their share (a flow: each hole to a node the
        // partition lacks, no node twice in a partition, none past its share); a hole the
        // flow cannot fill takes a swap with another partition (one more replica moved).
        let deficits = Dictionary(uniqueKeysWithValues: members.map { ($0, targets[$0]! - held[$0, default: 0]) })
        let given = fillHoles(owners, width: width, members: members, deficits: deficits)
        for partition in owners.indices {
            owners[partition] += given[partition]
            for node in given[partition] { held[node, default: 0] += 1 }
        }
        for partition in owners.indices {
            while owners[partition].count < width {
                let present = Set(owners[partition])
                let needy = members.filter { held[$0, default: 0] < targets[$0]! }
                if let node = needy.first(where: { !present.contains($0) }) {
                    owners[partition].append(node)
                    held[node, default: 0] += 1
                    continue
                }
                guard let node = needy.first,
                    swap(into: partition, for: node, owners: &owners, width: width)
                else {
                    preconditionFailure("no balanced claim fills partition \(partition)")
                }
                held[node, default: 0] += 1
            }
        }
        return RingAssignment(
            partitionCount: current.partitionCount, replicas: current.replicas,
            owners: balancePrimaries(owners, members: members, previous: current.owners))
    }

    /// The fewest partition replicas any balanced claim for `nodes` must move from
    /// `current`: every replica of a node that leaves or holds more than the most any node
    /// may hold, and every replica a node holding less than the least must gain, whichever
    /// is more.
    public static func minimumMoves(from current: RingAssignment, nodes: [NodeID]) -> Int {
        let members = Set(nodes)
        let width = min(current.replicas, members.count)
        let total = current.partitionCount * width
        let least = total / members.count
        let most = least + (total % members.count == 0 ? 0 : 1)
        let counts = RingAssignment.replicaCounts(
            current.owners.map { Array($0.filter(members.contains).prefix(width)) })
        let keptAtMost = members.reduce(0) { $0 + min(counts[$1, default: 0], most) }
        let gained = members.reduce(0) { $0 + max(0, least - counts[$1, default: 0]) }
        return max(total - keptAtMost, gained)
    }

    // MARK: Pieces

    private static func position(of node: NodeID, in list: [NodeID]) -> Int? { list.firstIndex(of: node) }

    /// Each node's share of `total`: floor or ceil of total/n, the ceilings going to the
    /// nodes that hold the most already (so fewer replicas move), ties by name.
    private static func shares(total: Int, members: [NodeID], held: [NodeID: Int]) -> [NodeID: Int] {
        let least = total / members.count
        let extra = total % members.count
        let byHolding = members.sorted { (held[$0, default: 0], $1) > (held[$1, default: 0], $0) }
        var targets: [NodeID: Int] = [:]
        for (rank, node) in byHolding.enumerated() { targets[node] = least + (rank < extra ? 1 : 0) }
        return targets
    }

    /// The most holes of `owners` (places below `width`) that nodes can fill up to their
    /// `deficits`, never twice in one partition nor where they are already: a maximum flow
    /// by augmenting paths (a partition takes a node, whose last place moves to another
    /// partition that takes another node, and so on to a node with room). What each
    /// partition is given.
    private static func fillHoles(_ owners: [[NodeID]], width: Int, members: [NodeID], deficits: [NodeID: Int])
        -> [[NodeID]]
    {
        let needy = members.filter { deficits[$0]! > 0 }
        var given: [[NodeID]] = Array(repeating: [], count: owners.count)
        var load: [NodeID: Int] = [:]
        // How many partitions each two nodes share: a partition prefers the nodes that
        // share the fewest with its owners, so that replicas spread over many peers (a node
        // that fails then leaves its load to many, and later claims have room to move).
        var together: [NodeID: [NodeID: Int]] = [:]
        func pair(_ partition: Int, _ node: NodeID, _ delta: Int) {
            for other in owners[partition] + given[partition] where other != node {
                together[node, default: [:]][other, default: 0] += delta
                together[other, default: [:]][node, default: 0] += delta
            }
        }
        for partition in owners.indices {
            for node in owners[partition] {
                for other in owners[partition] where other != node {
                    together[node, default: [:]][other, default: 0] += 1
                }
            }
        }
        func takes(_ partition: Int, _ node: NodeID) -> Bool {
            !owners[partition].contains(node) && !given[partition].contains(node)
        }
        func candidates(_ partition: Int) -> [NodeID] {
            let present = owners[partition] + given[partition]
            func shared(_ node: NodeID) -> Int { present.reduce(0) { $0 + (together[node]?[$1] ?? 0) } }
            return needy.filter { takes(partition, $0) }.sorted {
                (shared($0), load[$0, default: 0] - deficits[$0]!, $0) < (
                    shared($1), load[$1, default: 0] - deficits[$1]!, $1
                )
            }
        }
        for start in owners.indices {
            holes: for _ in 0..<(width - owners[start].count) {
                var takenBy: [NodeID: Int] = [:]  // the partition that would take the node
                var givesUp: [Int: NodeID] = [:]  // the node a partition would give up
                var queue = [start]
                var seen: Set<Int> = [start]
                while !queue.isEmpty {
                    let partition = queue.removeFirst()
                    for node in candidates(partition) where takenBy[node] == nil {
                        takenBy[node] = partition
                        if load[node, default: 0] < deficits[node]! {
                            // Augment: each partition on the path takes its node, giving up the last.
                            load[node, default: 0] += 1
                            var taking: NodeID? = node
                            while let next = taking, let taker = takenBy[next] {
                                taking = taker == start ? nil : givesUp[taker]
                                if let dropped = taking {
                                    given[taker].removeAll { $0 == dropped }
                                    pair(taker, dropped, -1)
                                }
                                pair(taker, next, 1)
                                given[taker].append(next)
                            }
                            continue holes
                        }
                        for other in owners.indices where !seen.contains(other) && given[other].contains(node) {
                            seen.insert(other)
                            givesUp[other] = node
                            queue.append(other)
                        }
                    }
                }
                break  // no path: the rest of this partition's holes wait for a swap
            }
        }
        return given
    }

    /// Fills a place in `partition` when every node still under its share already holds
    /// it: finds another partition `q` without `node` and an owner `other` of `q` that
    /// `partition` lacks, moves `other` from `q` into `partition` and puts `node` in its
    /// place in `q` (one more replica moved).
    private static func swap(into partition: Int, for node: NodeID, owners: inout [[NodeID]], width: Int) -> Bool {
        let present = Set(owners[partition])
        for q in owners.indices where q != partition && !owners[q].contains(node) {
            guard let index = owners[q].firstIndex(where: { !present.contains($0) }) else { continue }
            let other = owners[q][index]
            owners[q][index] = node
            owners[partition].append(other)
            return true
        }
        return false
    }

    /// Orders each partition's owners so that every node is primary for floor or ceil of
    /// Q/n partitions: a partition keeps its primary where it can, the others go to the
    /// owner with the fewest; then owners under the floor take partitions from owners over
    /// it, along chains of partitions where needed. Only the order changes.
    private static func balancePrimaries(_ owners: [[NodeID]], members: [NodeID], previous: [[NodeID]]) -> [[NodeID]] {
        let q = owners.count
        let least = q / members.count
        let most = least + (q % members.count == 0 ? 0 : 1)
        var primary: [NodeID] = Array(repeating: members[0], count: q)
        var counts: [NodeID: Int] = [:]
        var unassigned: [Int] = []
        for p in 0..<q {
            if let old = previous[p].first, owners[p].contains(old), counts[old, default: 0] < most {
                primary[p] = old
                counts[old, default: 0] += 1
            } else {
                unassigned.append(p)
            }
        }
        for p in unassigned {
            let choice = owners[p].min { (counts[$0, default: 0], $0) < (counts[$1, default: 0], $1) }!
            primary[p] = choice
            counts[choice, default: 0] += 1
        }
        // Move primaries from nodes above `limit` to nodes below it along augmenting chains.
        func rebalance(over: (NodeID) -> Bool, under: (NodeID) -> Bool) {
            var changed = true
            while changed {
                changed = false
                for start in members where under(start) {
                    // Breadth-first over "start could take partition p from its primary".
                    var parent: [NodeID: (partition: Int, from: NodeID)] = [:]
                    var queue = [start]
                    var seen: Set<NodeID> = [start]
                    var end: NodeID?
                    while !queue.isEmpty, end == nil {
                        let taker = queue.removeFirst()
                        for p in 0..<q where owners[p].contains(taker) && primary[p] != taker {
                            let giver = primary[p]
                            guard !seen.contains(giver) else { continue }
                            seen.insert(giver)
                            parent[giver] = (p, taker)
                            if over(giver) {
                                end = giver
                                break
                            }
                            queue.append(giver)
                        }
                    }
                    guard var node = end else { continue }
                    counts[node, default: 0] -= 1
                    while let step = parent[node] {
                        primary[step.partition] = step.from
                        node = step.from
                    }
                    counts[start, default: 0] += 1
                    changed = true
                }
            }
        }
        rebalance(over: { counts[$0, default: 0] > most }, under: { counts[$0, default: 0] < most })
        rebalance(over: { counts[$0, default: 0] > least }, under: { counts[$0, default: 0] < least })
        return (0..<q).map { p in [primary[p]] + owners[p].filter { $0 != primary[p] } }
    }
}
