import Replication
import RingstoreCore
import Synchronization

/// How a node runs anti-entropy.
public struct AntiEntropySettings: Sendable {
    /// One exchange (one partition replica with one peer) starts per interval at most.
    public var intervalMillis: UInt32
    /// Keys repaired per second at most (each costs a read and a merge on both sides).
    public var keysPerSecond: Int
    /// How long each request of an exchange waits for the peer.
    public var timeoutMillis: UInt32
    public var enabled: Bool

    public init(
        intervalMillis: UInt32 = 1000, keysPerSecond: Int = 100, timeoutMillis: UInt32 = 5000, enabled: Bool = true
    ) {
        self.intervalMillis = intervalMillis
        self.keysPerSecond = keysPerSecond
        self.timeoutMillis = timeoutMillis
        self.enabled = enabled
    }
}

/// One partition replica of one keyspace: what a hash tree covers.
public struct PartitionReplica: Hashable, Sendable, Comparable {
    public var keyspace: String
    public var partition: Int

    public static func < (a: PartitionReplica, b: PartitionReplica) -> Bool {
        (a.keyspace, a.partition) < (b.keyspace, b.partition)
    }
}

/// A node's anti-entropy state (DESIGN section 4): a hash tree per partition replica it
/// holds, kept current on every change of a stored object, when each last converged
/// with its peer, and which exchange runs. The exchanges themselves are
/// `AntiEntropyExchange` machines that `Node` drives.
final class AntiEntropy: Sendable {
    let settings: AntiEntropySettings
    private let trees = Mutex<[PartitionReplica: ReplicaIndex]>([:])
    /// Wall millis of the last exchange that found (or left) the two replicas equal.
    private let lastConverged = Mutex<[PartitionReplica: UInt64]>([:])
    private let cursor = Mutex(0)
    private let running = Atomic<Bool>(false)
    private let pacer: Mutex<Pacer>

    init(settings: AntiEntropySettings) {
        self.settings = settings
        pacer = Mutex(Pacer(perSecond: max(1, settings.keysPerSecond)))
    }

    /// The partition replica and ring position of a data key; nil for node metadata.
    static func locate(_ storageKey: [UInt8], ring: Ring) -> (PartitionReplica, position: UInt64)? {
        guard let (keyspace, _) = StorageKey.split(storageKey) else { return nil }
        let position = StableHash.xxHash64(storageKey)
        return (PartitionReplica(keyspace: keyspace, partition: ring.partition(ofPosition: position).index), position)
    }

    /// A stored object changed (the store's observer): `digest` is its new digest, nil
    /// when the key was removed. The old one comes from the index.
    func changed(_ storageKey: [UInt8], digest: UInt64?, ring: Ring) {
        guard let (replica, position) = Self.locate(storageKey, ring: ring) else { return }
        trees.withLock { $0[replica, default: ReplicaIndex()].update(storageKey, position: position, digest: digest) }
    }

    /// Builds every tree anew from what `objects` holds (at start, and when the ring
    /// changed); `visit` sees every data key's object on the way.
    func rebuild(
        from objects: ReplicaStore, ring: Ring, visit: ([UInt8], ReplicaObject) -> Void = { _, _ in }
    ) {
        var fresh: [PartitionReplica: ReplicaIndex] = [:]
        for storageKey in objects.storage.keys(withPrefix: []) {
            guard let (replica, position) = Self.locate(storageKey, ring: ring),
                let object = try? objects.object(storageKey)
            else { continue }
            visit(storageKey, object)
            fresh[replica, default: ReplicaIndex()].update(
                storageKey, position: position, digest: HashTree.digest(object))
        }
        trees.withLock { $0 = fresh }
    }

    /// How many keys this node holds of each partition replica.
    func keyCounts() -> [PartitionReplica: Int] {
        trees.withLock { trees in trees.mapValues { $0.keysByBucket.values.reduce(0) { $0 + $1.count } } }
    }

    func tree(_ replica: PartitionReplica) -> HashTree { trees.withLock { $0[replica]?.tree ?? HashTree() } }

    /// The digest of every key in `buckets` of a partition replica, from the index (kept
    /// current with every change the store queues, so no object is read).
    func digests(_ replica: PartitionReplica, buckets: Set<Int>) -> [[UInt8]: UInt64] {
        trees.withLock { trees in
            var digests: [[UInt8]: UInt64] = [:]
            for bucket in buckets {
                for (key, digest) in trees[replica]?.keysByBucket[bucket] ?? [:] { digests[key] = digest }
            }
            return digests
        }
    }

    /// Claims the right to run the next exchange; false while one runs.
    func tryStart() -> Bool {
        running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    func finished(_ replica: PartitionReplica, converged: Bool, now: UInt64) {
        if converged { lastConverged.withLock { $0[replica] = now } }
        release()
    }

    /// Gives up the right `tryStart` claimed without running an exchange.
    func release() { running.store(false, ordering: .releasing) }

    /// The next of `candidates` in turn.
    func next<T>(of candidates: [T]) -> T? {
        guard !candidates.isEmpty else { return nil }
        let turn = cursor.withLock { cursor in
            defer { cursor += 1 }
            return cursor
        }
        return candidates[turn % candidates.count]
    }

    /// How long to wait before the next repair starts.
    func repairDelay(now: UInt64) -> UInt64 { pacer.withLock { $0.reserve(now: now) } }

    var convergence: [PartitionReplica: UInt64] { lastConverged.withLock { $0 } }
}

/// One partition replica's hash tree and the digest of every key, by bucket, so that an
/// exchange lists the keys of the buckets it compares without reading the store, and a
/// change knows the digest it replaces.
struct ReplicaIndex {
    var tree = HashTree()
    var keysByBucket: [Int: [[UInt8]: UInt64]] = [:]

    /// `storageKey`'s object now has `digest` (nil: the key is gone).
    mutating func update(_ storageKey: [UInt8], position: UInt64, digest: UInt64?) {
        let bucket = HashTree.bucket(ofPosition: position)
        let old = keysByBucket[bucket]?[storageKey]
        guard old != digest else { return }
        tree.update(position: position, old: old, new: digest)
        keysByBucket[bucket, default: [:]][storageKey] = digest
    }
}
