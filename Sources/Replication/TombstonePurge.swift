import RingstoreCore

/// Whether a deleted key may leave the store for good (DESIGN section 4). A replica
/// whose object of the key holds only tombstones, the newest older than the grace
/// period, asks every other node of the ring; the key is purged only if every node
/// answered, none keeps a hint for the key (a hint replayed after the purge would bring
/// an older value back), and every other owner holds the same tombstones or nothing
/// (an owner that still has an older value needs the tombstone first: anti-entropy
/// brings it). Then every owner removes the key if its object is still that one. Events
/// in, actions out.
public struct TombstonePurge: ProtocolMachine {
    public enum Event: Sendable, Equatable {
        /// A node's answer: its object of the key when it is an owner (nil: none), and
        /// whether it keeps a hint for the key.
        case answered(NodeID, object: ReplicaObject?, keepsHint: Bool)
        case failed(NodeID, reason: String)
    }

    public enum Action: Sendable, Equatable {
        case ask(NodeID)
        /// Remove the key on these owners (this node included) if their object is still `object`.
        case purge(owners: [NodeID], object: ReplicaObject)
        /// Keep the key; `reason` says why.
        case keep(reason: String)
    }

    public let tombstone: ReplicaObject
    public let owners: [NodeID]
    public let others: [NodeID]
    private var waiting: Set<NodeID>
    public private(set) var isFinished = false

    /// `tombstone` is this node's object of the key; `owners` the key's owners; `nodes`
    /// the whole ring; `me` this node.
    public init(tombstone: ReplicaObject, owners: [NodeID], nodes: [NodeID], me: NodeID) {
        self.tombstone = tombstone
        self.owners = owners
        others = nodes.filter { $0 != me }
        waiting = Set(others)
    }

    public mutating func start() -> [Action] {
        guard tombstone.liveSiblings.isEmpty, !tombstone.siblings.isEmpty else {
            return finish(.keep(reason: "the key has a value"))
        }
        if others.isEmpty { return finish(.purge(owners: owners, object: tombstone)) }
        return others.map { .ask($0) }
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !isFinished else { return [] }
        switch event {
        case .answered(let node, let object, let keepsHint):
            guard waiting.remove(node) != nil else { return [] }
            if keepsHint { return finish(.keep(reason: "\(node) keeps a hint for the key")) }
            if owners.contains(node), let object, object != tombstone {
                return finish(.keep(reason: "\(node) holds another version of the key"))
            }
            return waiting.isEmpty ? finish(.purge(owners: owners, object: tombstone)) : []
        case .failed(let node, let reason):
            guard waiting.remove(node) != nil else { return [] }
            return finish(.keep(reason: "\(node) did not answer: \(reason)"))
        }
    }

    private mutating func finish(_ action: Action) -> [Action] {
        isFinished = true
        return [action]
    }
}
