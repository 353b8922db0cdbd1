import Replication
import RingstoreCore
import Synchronization

/// When a node purges deleted keys.
public struct TombstoneSettings: Sendable {
    /// A tombstone is purged no sooner than this after its delete (by the delete's
    /// timestamp): longer than any request's timeout and any clock skew between nodes.
    public var graceMillis: UInt64
    /// How often the node looks for tombstones past their grace.
    public var intervalMillis: UInt32
    /// Keys checked per round at most.
    public var keysPerRound: Int
    public var timeoutMillis: UInt32
    public var enabled: Bool

    public init(
        graceMillis: UInt64 = 600_000, intervalMillis: UInt32 = 1000, keysPerRound: Int = 16,
        timeoutMillis: UInt32 = 5000, enabled: Bool = true
    ) {
        self.graceMillis = graceMillis
        self.intervalMillis = intervalMillis
        self.keysPerRound = keysPerRound
        self.timeoutMillis = timeoutMillis
        self.enabled = enabled
    }
}

/// The keys whose stored object holds only tombstones, with the wall millis of the
/// newest delete: the candidates for purging, kept current by the store's observer.
final class TombstoneCandidates: Sendable {
    let settings: TombstoneSettings
    private let candidates = Mutex<[[UInt8]: UInt64]>([:])
    /// Keys whose check is under way.
    private let checking = Mutex<Set<[UInt8]>>([])

    init(settings: TombstoneSettings) { self.settings = settings }

    func changed(_ storageKey: [UInt8], to object: ReplicaObject?) {
        guard storageKey.first != 0x01 else { return }
        let deletedAt = object.flatMap { $0.liveSiblings.isEmpty ? $0.latestTimestamp.physicalMillis : nil }
        candidates.withLock { $0[storageKey] = deletedAt }
    }

    /// Up to `keysPerRound` keys deleted longer than the grace period ago and not being
    /// checked, claimed for a check.
    func claimDue(now: UInt64) -> [[UInt8]] {
        let due = candidates.withLock { candidates in
            candidates.filter { $0.value + settings.graceMillis <= now }.map(\.key)
        }
        return checking.withLock { checking in
            let claimed = Array(due.filter { !checking.contains($0) }.prefix(settings.keysPerRound))
            checking.formUnion(claimed)
            return claimed
        }
    }

    func release(_ storageKey: [UInt8]) { _ = checking.withLock { $0.remove(storageKey) } }

    var count: Int { candidates.withLock { $0.count } }
}

extension Node {
    func scheduleTombstoneSweep() {
        guard tombstones.settings.enabled, !isStopped else { return }
        _ = environment.timers.after(millis: tombstones.settings.intervalMillis) { [weak self] in
            guard let self, !isStopped else { return }
            for storageKey in tombstones.claimDue(now: environment.wallMillis()) { checkTombstone(storageKey) }
            scheduleTombstoneSweep()
        }
    }

    /// Runs the purge check of one deleted key and purges it where the check allows.
    private func checkTombstone(_ storageKey: [UInt8]) {
        guard let (keyspace, key) = StorageKey.split(storageKey),
            let placement = try? placement(keyspace: keyspace, key: key),
            let object = try? objects.object(storageKey),
            // A partition that moves purges nothing: its pending owners may lack the tombstone.
            ring.move(placement.partition) == nil
        else {
            tombstones.release(storageKey)
            return
        }
        let timeout = tombstones.settings.timeoutMillis
        let run = MachineRun(TombstonePurge(tombstone: object, owners: placement.owners, nodes: ring.nodes, me: id))
        run.onAction = { [self] action in
            switch action {
            case .ask(let node):
                environment.network.send(
                    .tombstoneCheck(keyspace: keyspace, key: key), to: node, timeoutMillis: timeout
                ) {
                    reply in
                    switch reply {
                    case .success(.tombstoneState(let object, let keepsHint)):
                        run.handle(.answered(node, object: object, keepsHint: keepsHint))
                    case .success(let other): run.handle(.failed(node, reason: "answered \(other)"))
                    case .failure(let error): run.handle(.failed(node, reason: error.detail))
                    }
                }
            case .purge(let owners, let tombstone):
                for owner in owners where owner != id {
                    environment.network.send(
                        .purge(keyspace: keyspace, key: key, object: tombstone), to: owner, timeoutMillis: timeout
                    ) { _ in }
                }
                if owners.contains(id) { purgeLocally(storageKey, tombstone) }
                tombstones.release(storageKey)
            case .keep(let reason):
                logger.trace("tombstone kept", metadata: ["reason": "\(reason)"])
                tombstones.release(storageKey)
            }
        }
        run.start()
    }

    /// Removes the key if its object is still `tombstone`.
    func purgeLocally(_ storageKey: [UInt8], _ tombstone: ReplicaObject) {
        if objects.remove(storageKey, ifStill: tombstone, durable: { _ in }) {
            environment.metrics.tombstonesPurged.increment()
        }
    }

    /// A peer's tombstone check: this node's object of the key if it owns it, and whether
    /// it keeps a hint for the key.
    func answerTombstoneCheck(keyspace: String, key: [UInt8]) throws(RingstoreError) -> PeerReply {
        let placement = try placement(keyspace: keyspace, key: key)
        let object = placement.owners.contains(id) ? try objects.object(placement.storageKey) : nil
        let keepsHint =
            handoff.map { handoff in
                placement.owners.contains { owner in
                    (try? handoff.hints.object(HintedHandoff.hintKey(owner: owner, keyspace: keyspace, key: key)))
                        != nil
                }
            } ?? false
        return .tombstoneState(object: object, keepsHint: keepsHint)
    }
}
