/// A partition whose owners are changing after `ringstore cluster commit` (issue 16), in
/// two phases, each a version of the ring:
///
/// - **copying**: the ring still counts `previous` as the owners; the nodes coming in
///   (`incoming`) are pending owners: writes go to them too but do not count towards a
///   level, and each copies the partition from a current owner. When every one of them
///   is `done`, the move flips.
/// - **draining**: `target` are the owners; the nodes going out still receive writes
///   (uncounted) and keep their copy. Once every node runs a ring of this phase or later,
///   the incoming nodes copy once more what the outgoing ones hold (what a write counted
///   in the copying phase left only there), then the move ends and the outgoing
///   nodes drop their copy once every node runs that ring.
///
/// Pending and draining owners are per replication factor: a keyspace with N replicas
/// uses the first N of `previous` and `target`.
public struct PartitionMove: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case copying
        case draining
    }

    public var partition: Int
    /// The owners before the move, in preference order.
    public var previous: [NodeID]
    /// The owners after it.
    public var target: [NodeID]
    public var phase: Phase
    /// The ring version at which the phase began.
    public var since: Int
    /// The nodes of `required` that finished the phase's copy.
    public var done: [NodeID]

    public init(partition: Int, previous: [NodeID], target: [NodeID], phase: Phase, since: Int, done: [NodeID] = []) {
        self.partition = partition
        self.previous = previous
        self.target = target
        self.phase = phase
        self.since = since
        self.done = done
    }

    /// The owners that count now.
    public var counted: [NodeID] { phase == .copying ? previous : target }

    /// Nodes that become owners for a keyspace of `replicationFactor` replicas.
    public func incoming(replicationFactor n: Int) -> [NodeID] {
        let before = Set(previous.prefix(n))
        return target.prefix(n).filter { !before.contains($0) }
    }

    /// Nodes that stop being owners for a keyspace of `replicationFactor` replicas.
    public func outgoing(replicationFactor n: Int) -> [NodeID] {
        let after = Set(target.prefix(n))
        return previous.prefix(n).filter { !after.contains($0) }
    }

    /// Nodes that receive a keyspace's writes without counting towards its level: the
    /// pending owners while copying, the outgoing ones while draining.
    public func uncounted(replicationFactor n: Int) -> [NodeID] {
        phase == .copying ? incoming(replicationFactor: n) : outgoing(replicationFactor: n)
    }

    /// Every node that copies for some replication factor: the phase ends when all are done.
    public var required: [NodeID] {
        var nodes: [NodeID] = []
        for n in 1...max(1, max(previous.count, target.count)) {
            for node in incoming(replicationFactor: n) where !nodes.contains(node) { nodes.append(node) }
        }
        return nodes
    }

    /// Every node the move involves.
    public var nodes: Set<NodeID> { Set(previous).union(target) }
}

extension Ring {
    /// The ring once `target` is committed: partitions whose owners differ start copying
    /// (owners unchanged until they flip), and `members` (the members after the change)
    /// join the ring's nodes; nodes that leave stay until they hold nothing. Refused while
    /// an earlier plan still moves partitions.
    public func committing(_ target: RingAssignment, members: [NodeID]) throws(RingstoreError) -> Ring {
        guard moves.isEmpty else {
            throw RingstoreError(
                .invalidParameter,
                "the ring (version \(version)) still moves \(moves.count) partitions; commit again once they finished")
        }
        guard target.partitionCount == partitionCount else {
            throw RingstoreError(
                .invalidParameter, "the plan has \(target.partitionCount) partitions, the ring \(partitionCount)")
        }
        let current = assignment(replicas: target.replicas)
        let next = version + 1
        var started: [PartitionMove] = []
        var owners = target.owners
        for partition in 0..<partitionCount where current.owners[partition] != target.owners[partition] {
            let move = PartitionMove(
                partition: partition, previous: current.owners[partition], target: target.owners[partition],
                phase: .copying, since: next)
            // Owners that only go (the cluster shrank below the replica count) copy nothing:
            // the partition takes its new owners at once.
            guard !move.required.isEmpty else { continue }
            started.append(move)
            owners[partition] = move.previous
        }
        let members = started.isEmpty ? members : Array(Set(nodes).union(members))
        let replicas = owners.map(\.count).max() ?? 1
        return try Ring(
            assignment: RingAssignment(partitionCount: partitionCount, replicas: replicas, owners: owners),
            nodes: members, version: next, moves: started)
    }

    /// The ring once `node` finished its copy for `partition`'s move in `phase`: nil when
    /// that changes nothing (already recorded, or the move is elsewhere by now). The last
    /// copy of a phase advances the move: copying flips to draining, draining ends it; the
    /// last move to end takes the nodes that hold nothing out of the ring.
    public func recording(done node: NodeID, partition: Int, phase: PartitionMove.Phase) -> Ring? {
        recording(done: node, [(partition, phase)])
    }

    /// The ring once `node` finished every copy of `steps` (partition and phase), as one
    /// new version; nil when none of them changes anything.
    public func recording(done node: NodeID, _ steps: [(partition: Int, phase: PartitionMove.Phase)]) -> Ring? {
        let next = version + 1
        var owners = (0..<partitionCount).map { explicitOwners(PartitionID($0)) }
        var current = Dictionary(uniqueKeysWithValues: moves.map { ($0.partition, $0) })
        var changed = false
        for (partition, phase) in steps {
            guard var move = current[partition], move.phase == phase, move.required.contains(node),
                !move.done.contains(node)
            else { continue }
            changed = true
            move.done.append(node)
            if Set(move.done).isSuperset(of: move.required) {
                if phase == .copying {
                    owners[partition] = move.target
                    current[partition] = PartitionMove(
                        partition: partition, previous: move.previous, target: move.target, phase: .draining,
                        since: next)
                } else {
                    current[partition] = nil
                }
            } else {
                current[partition] = move
            }
        }
        guard changed else { return nil }
        var members = nodes
        if current.isEmpty {
            let holding = Set(owners.joined())
            members = nodes.filter(holding.contains)
        }
        let replicas = owners.map(\.count).max() ?? 1
        return try? Ring(
            assignment: RingAssignment(partitionCount: partitionCount, replicas: replicas, owners: owners),
            nodes: members, version: next, moves: Array(current.values))
    }

    /// The move of `partition`, if it is moving.
    public func move(_ partition: PartitionID) -> PartitionMove? { moves.first { $0.partition == partition.index } }

    /// Nodes that receive writes to `partition` of a keyspace of `replicationFactor`
    /// replicas without counting towards the level (pending or outgoing owners).
    public func uncountedOwners(_ partition: PartitionID, replicationFactor: Int) -> [NodeID] {
        move(partition)?.uncounted(replicationFactor: replicationFactor) ?? []
    }
}

/// Where a node stands in a ring that may be moving partitions.
public enum RingMemberState: String, Sendable {
    /// It holds its partitions; no committed plan changes that.
    case member
    /// A committed plan gives it partitions it does not hold yet.
    case joining
    /// It holds partitions a committed plan takes away, and will hold none.
    case leaving
    /// It is not in the ring and holds nothing: a node that left (it may be stopped), or a
    /// new one waiting for `ringstore cluster join`.
    case outside
}

extension Ring {
    /// Where `node` stands in this ring.
    public func state(of node: NodeID) -> RingMemberState {
        guard nodes.contains(node) else { return .outside }
        guard !moves.isEmpty else { return .member }
        var counted = Set<NodeID>()
        var final = Set<NodeID>()
        for partition in 0..<partitionCount {
            let owners = explicitOwners(PartitionID(partition))
            counted.formUnion(owners)
            final.formUnion(move(PartitionID(partition))?.target ?? owners)
        }
        if !final.contains(node) { return .leaving }
        return counted.contains(node) ? .member : .joining
    }
}
