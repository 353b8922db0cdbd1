import RingstoreCore

/// The coordinator's side of one leaderless write (DESIGN section 4): the new object is
/// sent to every owner of the key, and the write succeeds once `required` of them
/// durably accepted it. Once success is impossible it fails as soon as every replica
/// answered (so the error says exactly where the write landed), or at the deadline;
/// never a silent downgrade. Events in, actions out.
///
/// A sloppy write (Dynamo's sloppy quorum) has `fallbacks`: the nodes after the owners in
/// the preference list. An owner that is suspected when the write starts, or that
/// rejects it, is replaced by the next unused fallback, which keeps the object as a hint
/// for that owner; the fallback's acknowledgement counts towards `required`. A strict
/// write has no fallbacks and counts owners only.
///
/// `uncounted` nodes (the pending or outgoing owners of a partition that moves) are sent
/// the object too, but their answers count for nothing and nothing waits for them.
public struct QuorumWrite: ProtocolMachine {
    /// What reaches the machine: acknowledgements, rejections, the deadline.
    public enum Event: Sendable, Equatable {
        /// The node stored the object durably (the coordinator's own store included): an
        /// owner as a replica, a fallback as a hint.
        case accepted(NodeID)
        /// The node answered with an error, or its link failed.
        case rejected(NodeID, reason: String)
        case deadlinePassed
    }

    /// The answer for the client.
    public enum Outcome: Sendable, Equatable {
        /// `hinted` lists the owners whose copy a fallback holds as a hint.
        case succeeded(acknowledged: [NodeID], hinted: [NodeID])
        case failed(required: Int, acknowledged: [NodeID], reasons: [String])
    }

    /// What the shell is to do.
    public enum Action: Sendable, Equatable {
        /// Store the object on this owner.
        case send(to: NodeID)
        /// Store the object on fallback `to` as a hint for `owner`.
        case sendHint(to: NodeID, owner: NodeID)
        case respond(Outcome)
    }

    public let replicas: [NodeID]
    public let uncounted: [NodeID]
    public let fallbacks: [NodeID]
    public let required: Int
    /// Owners the failure detector suspected when the write began.
    public let suspected: Set<NodeID>
    public private(set) var acknowledged: [NodeID] = []
    public private(set) var rejected: [NodeID: String] = [:]
    public private(set) var outcome: Outcome?
    /// Nodes sent to that have not answered yet.
    private var waiting: Set<NodeID> = []
    /// The owner each fallback in use stands in for.
    private var standingInFor: [NodeID: NodeID] = [:]
    private var fallbacksUsed = 0

    public var isFinished: Bool { outcome != nil }

    /// `required` may exceed the replica count: the write then fails at once. Fallbacks
    /// that are also replicas are ignored; suspected owners matter only with fallbacks.
    public init(
        replicas: [NodeID], required: Int, uncounted: [NodeID] = [], fallbacks: [NodeID] = [],
        suspected: Set<NodeID> = []
    ) {
        precondition(required >= 1, "a write needs at least one acknowledgement")
        self.replicas = replicas
        self.required = required
        self.uncounted = uncounted.filter { !replicas.contains($0) }
        self.fallbacks = fallbacks.filter { !replicas.contains($0) && !uncounted.contains($0) }
        self.suspected = suspected
    }

    /// What to do first: send to every owner (a suspected one's fallback instead, when
    /// there is one), or fail when the level cannot be met.
    public mutating func start() -> [Action] {
        if required > replicas.count {
            return finish(.failed(required: required, acknowledged: [], reasons: ["only \(replicas.count) replicas"]))
        }
        var actions: [Action] = []
        for owner in replicas {
            if suspected.contains(owner), let action = standIn(for: owner) {
                actions.append(action)
            } else {
                waiting.insert(owner)
                actions.append(.send(to: owner))
            }
        }
        return actions + uncounted.map { .send(to: $0) }
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard outcome == nil else { return [] }
        switch event {
        case .accepted(let node):
            guard waiting.remove(node) != nil else { return [] }
            acknowledged.append(node)
            if acknowledged.count >= required {
                let hinted = acknowledged.compactMap { standingInFor[$0] }
                return finish(.succeeded(acknowledged: acknowledged, hinted: hinted))
            }
        case .rejected(let node, let reason):
            guard waiting.remove(node) != nil else { return [] }
            rejected[node] = reason
            if let action = standIn(for: standingInFor[node] ?? node) { return [action] }
        case .deadlinePassed:
            return failNow()
        }
        return waiting.isEmpty ? failNow() : []
    }

    /// Sends `owner`'s copy to the next unused fallback, if any is left.
    private mutating func standIn(for owner: NodeID) -> Action? {
        guard fallbacksUsed < fallbacks.count else { return nil }
        let fallback = fallbacks[fallbacksUsed]
        fallbacksUsed += 1
        standingInFor[fallback] = owner
        waiting.insert(fallback)
        return .sendHint(to: fallback, owner: owner)
    }

    private mutating func failNow() -> [Action] {
        finish(
            .failed(
                required: required, acknowledged: acknowledged,
                reasons: rejected.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }))
    }

    private mutating func finish(_ result: Outcome) -> [Action] {
        outcome = result
        return [.respond(result)]
    }
}
