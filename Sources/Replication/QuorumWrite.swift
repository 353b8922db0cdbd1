import RingstoreCore

/// The coordinator's side of one leaderless write (DESIGN section 4): the new object is
/// sent to every owner of the key, and the write succeeds once `required` of them
/// durably accepted it. Once success is impossible it fails as soon as every replica
/// answered (so the error says exactly where the write landed), or at the deadline;
/// never a silent downgrade. Events in, actions out.
public struct QuorumWrite: ProtocolMachine {
    /// What reaches the machine: acknowledgements, rejections, the deadline.
    public enum Event: Sendable, Equatable {
        /// The replica stored the object durably (the coordinator's own store included).
        case accepted(NodeID)
        /// The replica answered with an error, or its link failed.
        case rejected(NodeID, reason: String)
        case deadlinePassed
    }

    /// The answer for the client.
    public enum Outcome: Sendable, Equatable {
        case succeeded(acknowledged: [NodeID])
        case failed(required: Int, acknowledged: [NodeID], reasons: [String])
    }

    /// What the shell is to do.
    public enum Action: Sendable, Equatable {
        case send(to: NodeID)
        case respond(Outcome)
    }

    public let replicas: [NodeID]
    public let required: Int
    public private(set) var acknowledged: [NodeID] = []
    public private(set) var rejected: [NodeID: String] = [:]
    public private(set) var outcome: Outcome?

    public var isFinished: Bool { outcome != nil }

    /// `required` may exceed the replica count: the write then fails at once.
    public init(replicas: [NodeID], required: Int) {
        precondition(required >= 1, "a write needs at least one acknowledgement")
        self.replicas = replicas
        self.required = required
    }

    /// What to do first: send to every replica, or fail when the level cannot be met.
    public mutating func start() -> [Action] {
        if required > replicas.count {
            return finish(.failed(required: required, acknowledged: [], reasons: ["only \(replicas.count) replicas"]))
        }
        return replicas.map { .send(to: $0) }
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard outcome == nil else { return [] }
        switch event {
        case .accepted(let node):
            guard replicas.contains(node), !acknowledged.contains(node), rejected[node] == nil else { return [] }
            acknowledged.append(node)
            if acknowledged.count >= required { return finish(.succeeded(acknowledged: acknowledged)) }
            if acknowledged.count + rejected.count == replicas.count { return failNow() }
        case .rejected(let node, let reason):
            guard replicas.contains(node), !acknowledged.contains(node), rejected[node] == nil else { return [] }
            rejected[node] = reason
            if acknowledged.count + rejected.count == replicas.count { return failNow() }
        case .deadlinePassed:
            return failNow()
        }
        return []
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
