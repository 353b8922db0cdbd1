import RingstoreCore

/// The coordinator's side of one leaderless read with read repair (DESIGN section 4).
///
/// Every owner is asked; once `required` answered, the merge of their objects is the
/// answer. The read then keeps listening until every owner answered or the deadline
/// passed, and sends the merge of everything it heard to each replica whose answer
/// lacked part of it: read repair, after the client already has its answer.
public struct QuorumRead: ProtocolMachine {
    /// What reaches the machine: answers, failures, the deadline.
    public enum Event: Sendable, Equatable {
        /// The replica's object for the key; nil when it has none.
        case answered(NodeID, ReplicaObject?)
        case failed(NodeID, reason: String)
        case deadlinePassed
    }

    /// The answer for the client.
    public enum Outcome: Sendable, Equatable {
        /// The merged object (nil: no replica that answered has the key).
        case value(ReplicaObject?, answered: [NodeID])
        case failed(required: Int, answered: [NodeID], reasons: [String])
    }

    /// What the shell is to do.
    public enum Action: Sendable, Equatable {
        case send(to: NodeID)
        case respond(Outcome)
        /// Bring `node` up to date with `object` (merge it in); nobody waits for it.
        case repair(NodeID, ReplicaObject)
    }

    public let replicas: [NodeID]
    public let required: Int
    private var answers: [(node: NodeID, object: ReplicaObject?)] = []
    private var failures: [NodeID: String] = [:]
    public private(set) var outcome: Outcome?
    /// Whether repairs were decided; nothing happens after that.
    public private(set) var isFinished = false

    public init(replicas: [NodeID], required: Int) {
        precondition(required >= 1, "a read needs at least one answer")
        self.replicas = replicas
        self.required = required
    }

    public var answered: [NodeID] { answers.map(\.node) }

    public mutating func start() -> [Action] {
        if required > replicas.count {
            outcome = .failed(required: required, answered: [], reasons: ["only \(replicas.count) replicas"])
            isFinished = true
            return [.respond(outcome!)]
        }
        return replicas.map { .send(to: $0) }
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !isFinished else { return [] }
        var actions: [Action] = []
        switch event {
        case .answered(let node, let object):
            guard isPending(node) else { return [] }
            answers.append((node, object))
            if outcome == nil, answers.count >= required {
                outcome = .value(merged(), answered: answered)
                actions.append(.respond(outcome!))
            }
        case .failed(let node, let reason):
            guard isPending(node) else { return [] }
            failures[node] = reason
        case .deadlinePassed:
            if outcome == nil {
                outcome = failedOutcome()
                actions.append(.respond(outcome!))
            }
            return actions + finish()
        }
        if answers.count + failures.count == replicas.count {
            if outcome == nil {
                outcome = failedOutcome()
                actions.append(.respond(outcome!))
            }
            actions += finish()
        }
        return actions
    }

    private func isPending(_ node: NodeID) -> Bool {
        replicas.contains(node) && failures[node] == nil && !answers.contains { $0.node == node }
    }

    private func merged() -> ReplicaObject? {
        answers.compactMap(\.object).reduce(nil) { $0?.merged(with: $1) ?? $1 }
    }

    private func failedOutcome() -> Outcome {
        .failed(
            required: required, answered: answered,
            reasons: failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })
    }

    /// Repairs for every replica that answered with less than the merge of all answers.
    private mutating func finish() -> [Action] {
        isFinished = true
        guard let merged = merged() else { return [] }
        return answers.compactMap { answer in
            guard let object = answer.object else { return .repair(answer.node, merged) }
            return object.merged(with: merged) == object ? nil : .repair(answer.node, merged)
        }
    }
}
