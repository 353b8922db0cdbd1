import Replication
import RingstoreCore
import Synchronization

/// The bytes per second a node may receive in partition copies, shared by all of them
/// (`ringstore serve --transfer-bytes-per-second`; 0: unlimited).
public final class TransferBudget: Sendable {
    public let bytesPerSecond: Int
    private let pacer: Mutex<Pacer>?

    public init(bytesPerSecond: Int) {
        self.bytesPerSecond = max(0, bytesPerSecond)
        pacer = bytesPerSecond > 0 ? Mutex(Pacer(perSecond: bytesPerSecond)) : nil
    }

    /// How long to wait after `bytes` arrived at `now` (wall millis).
    func delay(bytes: Int, now: UInt64) -> UInt64 { pacer?.withLock { $0.reserve(now: now, units: bytes) } ?? 0 }
}

extension Node {
    /// The keyspaces whose replica of `move`'s partition this node copies in the move's
    /// phase, each with the groups of nodes to copy from, in order of preference: the
    /// outgoing owners that run (in `running` when known) and the failure detector does not
    /// suspect, then (one of them is down: a replaced node) every other previous owner,
    /// whose union holds what the lost one did.
    public func copies(for move: PartitionMove, running: Set<NodeID>? = nil) -> [(
        keyspace: String, sources: [[NodeID]]
    )] {
        let network = environment.network
        var copies: [(String, [[NodeID]])] = []
        for keyspace in keyspaces() where keyspace.mode == .leaderless {
            let n = keyspace.replicationFactor
            guard move.incoming(replicationFactor: n).contains(id) else { continue }
            let leaving = move.outgoing(replicationFactor: n)
            let outgoing = leaving.filter { node in
                node != id && !network.isSuspected(node) && (running?.contains(node) ?? true)
            }
            let others = move.previous.prefix(n).filter { $0 != id && !leaving.contains($0) }
            copies.append((keyspace.name.name, [outgoing, others]))
        }
        return copies
    }

    /// Copies every keyspace's replica of `move`'s partition that comes to this node
    /// (`copies(for:)`), one after the other; `completion` says whether all were copied.
    public func copy(
        _ move: PartitionMove, running: Set<NodeID>? = nil,
        completion: @escaping @Sendable (Result<Void, RingstoreError>) -> Void
    ) {
        copyNext(ArraySlice(copies(for: move, running: running)), partition: move.partition, completion: completion)
    }

    private func copyNext(
        _ remaining: ArraySlice<(keyspace: String, sources: [[NodeID]])>, partition: Int,
        completion: @escaping @Sendable (Result<Void, RingstoreError>) -> Void
    ) {
        guard let next = remaining.first else { return completion(.success(())) }
        copyPartition(keyspace: next.keyspace, partition: partition, sources: next.sources) { [self] outcome in
            switch outcome {
            case .copied(let keys, let bytes):
                logger.info(
                    "partition copied",
                    metadata: [
                        "keyspace": "\(next.keyspace)", "partition": "\(partition)", "keys": "\(keys)",
                        "bytes": "\(bytes)", "from": "\(next.sources.map { $0.map(\.name) })",
                    ])
                copyNext(remaining.dropFirst(), partition: partition, completion: completion)
            case .failed(let reason):
                completion(.failure(RingstoreError(.unavailable, reason)))
            }
        }
    }

    /// Copies one partition replica of a leaderless keyspace from `sources` (groups in
    /// order of preference) into this node's store, driving a `PartitionTransfer` paced by
    /// the node's transfer budget.
    public func copyPartition(
        keyspace: String, partition: Int, sources: [[NodeID]],
        completion: @escaping @Sendable (PartitionTransfer.Outcome) -> Void
    ) {
        let replica = PartitionReplica(keyspace: keyspace, partition: partition)
        let network = environment.network
        let timeout = antiEntropy.settings.timeoutMillis
        let run = MachineRun(PartitionTransfer(sources: sources))
        run.onAction = { [self] action in
            switch action {
            case .fetchDigests(let source, let buckets):
                network.send(
                    .bucketDigests(keyspace: keyspace, partition: partition, buckets: buckets), to: source,
                    timeoutMillis: timeout
                ) { [self] reply in
                    guard case .success(.digests(let theirs)) = reply else {
                        return run.handle(.failed("\(source) sent no digests: \(reply)"))
                    }
                    run.handle(.digests(theirs: theirs, mine: antiEntropy.digests(replica, buckets: Set(buckets))))
                }
            case .fetchObjects(let source, let keys):
                network.send(.transferObjects(keyspace: keyspace, keys: keys), to: source, timeoutMillis: timeout) {
                    [self] reply in
                    guard case .success(.transferred(let items)) = reply else {
                        return run.handle(.failed("\(source) sent no objects: \(reply)"))
                    }
                    let bytes = items.reduce(0) { $0 + $1.storageKey.count + ($1.object?.encoded().count ?? 0) }
                    environment.metrics.transferBytesReceived.increment(by: bytes)
                    run.handle(.objects(items, bytes: bytes))
                }
            case .store(let items):
                store(items, keyspace: keyspace) { error in run.handle(error.map { .failed($0.detail) } ?? .stored) }
            case .pace(let bytes):
                let delay = transferBudget.delay(bytes: bytes, now: environment.wallMillis())
                if delay == 0 {
                    run.handle(.resume)
                } else {
                    _ = environment.timers.after(millis: UInt32(clamping: delay)) { run.handle(.resume) }
                }
            case .wait(let millis):
                _ = environment.timers.after(millis: millis) { run.handle(.resume) }
            case .finish(let outcome):
                switch outcome {
                case .copied: environment.metrics.transfersCopied.increment()
                case .failed: environment.metrics.transfersFailed.increment()
                }
                completion(outcome)
            }
        }
        run.start()
    }

    /// Merges copied objects into the store; `done` once all are durable (or with the first error).
    private func store(
        _ items: [TransferredObject], keyspace: String, done: @escaping @Sendable (RingstoreError?) -> Void
    ) {
        let left = Mutex((count: items.count, failed: false))
        let finish = { @Sendable (error: RingstoreError?) in
            let report: RingstoreError?? = left.withLock { state in
                guard !state.failed else { return nil }
                if let error {
                    state.failed = true
                    return .some(error)
                }
                state.count -= 1
                return state.count == 0 ? .some(nil) : nil
            }
            if let report { done(report) }
        }
        for item in items {
            guard let object = item.object, StorageKey.split(item.storageKey)?.keyspace == keyspace else {
                finish(RingstoreError(.invalidParameter, "a copied key is not of keyspace '\(keyspace)'"))
                continue
            }
            do throws(RingstoreError) {
                try mergeLocally(item.storageKey, object, durable: finish)
            } catch {
                finish(error)
            }
        }
    }

    /// Answers a peer copying a partition from this node: the objects of `keys` (storage
    /// keys of `keyspace`), as many as fit in about 1 MiB, at least one.
    func answerTransfer(keyspace name: String, keys: [[UInt8]]) throws(RingstoreError) -> PeerReply {
        let keyspace = try keyspace(named: name)
        guard keyspace.mode == .leaderless else {
            throw RingstoreError(
                .invalidParameter, "keyspace '\(name)' is in leader mode; its replicas copy by snapshot")
        }
        var items: [TransferredObject] = []
        var bytes = 0
        for storageKey in keys {
            guard StorageKey.split(storageKey)?.keyspace == name else {
                throw RingstoreError(.invalidParameter, "a key asked is not of keyspace '\(name)'")
            }
            let object = try objects.object(storageKey)
            let size = storageKey.count + (object?.encoded().count ?? 0)
            guard items.isEmpty || bytes + size <= 1 << 20 else { break }
            items.append(TransferredObject(storageKey: storageKey, object: object))
            bytes += size
        }
        environment.metrics.transferBytesSent.increment(by: bytes)
        return .transferred(items)
    }

    /// Removes this node's copies of partition replicas it neither owns nor receives
    /// writes for under its ring (a move took them elsewhere); the shell calls it only once
    /// every node runs this ring or a later one. Returns how many keys it removed; a key
    /// that changes meanwhile stays until the next call.
    public func dropUnheldReplicas() -> Int {
        let ring = ring
        var dropped = 0
        for keyspace in keyspaces() where keyspace.mode == .leaderless {
            for partition in 0..<ring.partitionCount {
                let p = PartitionID(partition)
                let n = keyspace.replicationFactor
                guard !ring.owners(p, replicationFactor: n).contains(id),
                    !ring.uncountedOwners(p, replicationFactor: n).contains(id)
                else { continue }
                let replica = PartitionReplica(keyspace: keyspace.name.name, partition: partition)
                for storageKey in antiEntropy.digests(replica, buckets: Set(0..<HashTree.bucketCount)).keys {
                    guard let object = try? objects.object(storageKey) else { continue }
                    if objects.remove(storageKey, ifStill: object, durable: { _ in }) { dropped += 1 }
                }
            }
        }
        if dropped > 0 {
            environment.metrics.droppedKeys.increment(by: dropped)
            logger.info("dropped copies of partitions moved away", metadata: ["keys": "\(dropped)"])
        }
        return dropped
    }
}
