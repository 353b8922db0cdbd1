import Replication
import RingstoreCore
import Synchronization

/// How fast a node replays the hints it keeps for other nodes.
public struct HandoffSettings: Sendable {
    /// Average bytes of hints sent per second, over all owners (Cassandra's
    /// `hinted_handoff_throttle` is 1 MiB/s too).
    public var bytesPerSecond: Int
    /// Hints sent and not yet acknowledged, at most.
    public var inFlightMax: Int
    /// How often the node looks for hints it can replay.
    public var intervalMillis: UInt32
    /// How long a replayed hint waits for its owner's acknowledgement.
    public var timeoutMillis: UInt32
    /// The longest pause after failed replays to one owner (the first is a tenth of it).
    public var backoffMaxMillis: UInt64

    public init(
        bytesPerSecond: Int = 1 << 20, inFlightMax: Int = 8, intervalMillis: UInt32 = 200, timeoutMillis: UInt32 = 5000,
        backoffMaxMillis: UInt64 = 10_000
    ) {
        self.backoffMaxMillis = backoffMaxMillis
        self.bytesPerSecond = bytesPerSecond
        self.inFlightMax = inFlightMax
        self.intervalMillis = intervalMillis
        self.timeoutMillis = timeoutMillis
    }
}

/// The hints a node keeps as a fallback for unreachable owners (DESIGN section 4), in a
/// storage of their own, and their replay. A hint is the key's replica object for one
/// owner; a second hint for the same owner and key merges into the first, so the hint
/// log holds at most one object per owner and key, however many writes it stood in for.
/// A hint is deleted only after its owner acknowledged it durably, and only if no
/// newer hint merged into it meanwhile; a restart of either side finds the hint still
/// there and sends it again (merging twice is harmless).
final class HintedHandoff: Sendable {
    let hints: ReplicaStore
    let settings: HandoffSettings
    private let replay: Mutex<HintReplay<[UInt8]>>
    /// Hints per owner at the last replay round.
    private let lastBacklog = Mutex<[NodeID: Int]>([:])
    /// Owners with hints that the failure detector suspected at the last round.
    private let suspectedOwners = Mutex<Set<NodeID>>([])
    /// Hints found at the last round and not tried since, last first: what the replay
    /// sends next, whenever a replay finishes or a round starts.
    private let queue = Mutex<[Candidate]>([])

    typealias Candidate = (hintKey: [UInt8], owner: NodeID, keyspace: String, key: [UInt8])

    init(storage: any ReplicaStorage, settings: HandoffSettings) {
        hints = ReplicaStore(storage: storage)
        self.settings = settings
        replay = Mutex(
            HintReplay(
                bytesPerSecond: settings.bytesPerSecond, inFlightMax: settings.inFlightMax,
                backoffMillis: max(1, settings.backoffMaxMillis / 10), backoffMaxMillis: settings.backoffMaxMillis))
    }

    /// `[owner length] owner keyspace 0x00 key`: the owner first, so one owner's hints
    /// share a prefix.
    static func hintKey(owner: NodeID, keyspace: String, key: [UInt8]) -> [UInt8] {
        var bytes = ownerPrefix(owner)
        bytes.append(contentsOf: keyspace.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key)
        return bytes
    }

    static func ownerPrefix(_ owner: NodeID) -> [UInt8] {
        let name = Array(owner.name.utf8.prefix(255))
        return [UInt8(name.count)] + name
    }

    /// The owner, keyspace and key of a hint key; nil for bytes no hint key has.
    static func parse(_ hintKey: [UInt8]) -> (owner: NodeID, keyspace: String, key: [UInt8])? {
        guard let length = hintKey.first, hintKey.count > Int(length) + 1 else { return nil }
        let owner = NodeID(String(decoding: hintKey[1...Int(length)], as: UTF8.self))
        guard let (keyspace, key) = StorageKey.split(hintKey[(Int(length) + 1)...]) else { return nil }
        return (owner, keyspace, key)
    }

    /// Keeps `object` for `owner`, merged into any hint it already has; `durable` runs
    /// once the hint is on disk.
    func store(
        owner: NodeID, keyspace: String, key: [UInt8], object: ReplicaObject,
        durable: @escaping @Sendable (RingstoreError?) -> Void
    ) throws(RingstoreError) {
        try hints.update(
            Self.hintKey(owner: owner, keyspace: keyspace, key: key),
            change: { current in (current.map { $0.merged(with: object) } ?? object, ()) }, durable: durable)
    }

    /// Hints per owner, as counted at the last replay round.
    var backlog: [NodeID: Int] { lastBacklog.withLock { $0 } }

    /// One replay round: counts the backlog, queues every hint for an owner the failure
    /// detector does not suspect, and starts sending.
    func replayRound(environment: NodeEnvironment) {
        var counts: [NodeID: Int] = [:]
        var candidates: [Candidate] = []
        for hintKey in hints.storage.keys(withPrefix: []) {
            guard let (owner, keyspace, key) = Self.parse(hintKey) else { continue }
            counts[owner, default: 0] += 1
            candidates.append((hintKey, owner, keyspace, key))
        }
        let previous = lastBacklog.withLock { backlog in
            defer { backlog = counts }
            return backlog
        }
        for owner in Set(previous.keys).union(counts.keys) {
            environment.metrics.hintBacklog(owner).record(counts[owner] ?? 0)
        }
        let suspected = Set(counts.keys.filter { environment.network.isSuspected($0) })
        let recovered = suspectedOwners.withLock { owners in
            defer { owners = suspected }
            return owners.subtracting(suspected)
        }
        replay.withLock { replay in for owner in recovered { replay.ownerRecovered(owner) } }
        queue.withLock { $0 = candidates.filter { !suspected.contains($0.owner) }.reversed() }
        pump(environment: environment)
    }

    /// Sends queued hints while the budget and the window allow: the replay runs as fast
    /// as its limits say, not one window per round.
    private func pump(environment: NodeEnvironment) {
        while true {
            let now = environment.wallMillis()
            let next = queue.withLock { queue -> Candidate? in
                replay.withLock { replay -> Candidate? in
                    guard replay.hasRoom(now: now) else { return nil }
                    while let candidate = queue.popLast() {
                        if replay.maySend(candidate.hintKey, to: candidate.owner, now: now) { return candidate }
                    }
                    return nil
                }
            }
            guard let candidate = next else { return }
            guard let object = try? hints.object(candidate.hintKey) else { continue }  // replayed meanwhile
            let bytes = object.encoded().count
            replay.withLock { $0.sent(candidate.hintKey, to: candidate.owner, bytes: bytes) }
            send(candidate, object, bytes: bytes, environment: environment)
        }
    }

    private func send(_ hint: Candidate, _ object: ReplicaObject, bytes: Int, environment: NodeEnvironment) {
        environment.network.send(
            .merge(keyspace: hint.keyspace, key: hint.key, object: object), to: hint.owner,
            timeoutMillis: settings.timeoutMillis
        ) { [self] reply in
            let now = environment.wallMillis()
            guard case .success(.merged) = reply else {
                replay.withLock { $0.finished(hint.hintKey, succeeded: false, now: now) }
                return  // the owner backs off; the next round queues its hints again
            }
            environment.metrics.hintsReplayed.increment()
            environment.metrics.hintBytesReplayed.increment(by: bytes)
            // The owner has it durably: the hint goes unless a newer one merged into it.
            _ = hints.remove(hint.hintKey, ifStill: object) { _ in }
            replay.withLock { $0.finished(hint.hintKey, succeeded: true, now: now) }
            pump(environment: environment)
        }
    }
}
