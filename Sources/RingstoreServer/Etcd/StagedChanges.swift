import RingstoreCore

/// Ring changes staged in etcd (`/ringstore/<cluster>/staged`), as Riak's `cluster join`,
/// `leave` and `replace` stage them before a plan is committed: nodes to add, nodes to
/// remove, and nodes to replace by others. Several are planned together as one claim.
public struct StagedChanges: Codable, Sendable, Equatable {
    public var joins: [String] = []
    public var leaves: [String] = []
    /// Each a pair: the node that goes, the node that takes its place.
    public var replacements: [[String]] = []

    public init() {}

    public var isEmpty: Bool { joins.isEmpty && leaves.isEmpty && replacements.isEmpty }

    /// Every node these changes name.
    var named: Set<String> { Set(joins + leaves + replacements.joined()) }

    /// Adds a join of `node` to the members `members`; refused with a reason when it
    /// cannot be one.
    public mutating func join(_ node: String, members: [String]) throws(RingstoreError) {
        try Self.validName(node)
        guard !members.contains(node) else { throw RingstoreError(.invalidParameter, "\(node) is a member already") }
        guard !named.contains(node) else {
            throw RingstoreError(.invalidParameter, "\(node) is in a staged change already")
        }
        joins.append(node)
    }

    public mutating func leave(_ node: String, members: [String]) throws(RingstoreError) {
        guard members.contains(node) else { throw RingstoreError(.invalidParameter, "\(node) is not a member") }
        guard !named.contains(node) else {
            throw RingstoreError(.invalidParameter, "\(node) is in a staged change already")
        }
        guard try self.members(after: members).count > 1 else {
            throw RingstoreError(.invalidParameter, "\(node) is the last member: a cluster keeps at least one")
        }
        leaves.append(node)
    }

    public mutating func replace(_ node: String, by replacement: String, members: [String]) throws(RingstoreError) {
        try Self.validName(replacement)
        guard members.contains(node) else { throw RingstoreError(.invalidParameter, "\(node) is not a member") }
        guard !members.contains(replacement) else {
            throw RingstoreError(.invalidParameter, "\(replacement) is a member already")
        }
        guard !named.contains(node), !named.contains(replacement) else {
            throw RingstoreError(.invalidParameter, "\(node) or \(replacement) is in a staged change already")
        }
        replacements.append([node, replacement])
    }

    /// The members once the changes are made.
    public func members(after members: [String]) throws(RingstoreError) -> [String] {
        var result = Set(members)
        for node in joins { result.insert(node) }
        for node in leaves { result.remove(node) }
        for pair in replacements {
            guard pair.count == 2 else { throw RingstoreError(.invalidParameter, "a replacement names two nodes") }
            result.remove(pair[0])
            result.insert(pair[1])
        }
        guard !result.isEmpty else { throw RingstoreError(.invalidParameter, "the changes leave no member") }
        return result.sorted()
    }

    private static func validName(_ node: String) throws(RingstoreError) {
        guard !node.isEmpty, node.utf8.count <= 64, !node.contains(",") else {
            throw RingstoreError(.invalidParameter, "a node id is 1-64 characters without commas, not '\(node)'")
        }
    }
}

/// What a set of staged changes would do to a ring: the claim for the members after
/// them, with what moves and the least any balanced claim could move.
public struct RingPlan: Sendable {
    public let before: RingAssignment
    public let after: RingAssignment
    public let members: [NodeID]
    public var moves: Int { before.moves(to: after) }
    public let minimumMoves: Int

    /// Plans `changes` on `ring`, placing `replicas` replicas of each partition (the
    /// largest replication factor of the cluster's keyspaces).
    public init(ring: Ring, changes: StagedChanges, replicas: Int) throws(RingstoreError) {
        let members = try changes.members(after: ring.nodes.map(\.name)).map(NodeID.init)
        guard members.count <= ring.partitionCount else {
            throw RingstoreError(.invalidParameter, "\(members.count) nodes need at least as many partitions")
        }
        before = ring.assignment(replicas: max(1, replicas))
        after = RingClaim.claim(from: before, nodes: members)
        minimumMoves = RingClaim.minimumMoves(from: before, nodes: members)
        self.members = members
    }
}
