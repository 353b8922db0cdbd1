import Replication
import RingstoreCore
import Synchronization

extension Node {
    /// Answers a request from a peer; `reply` is called exactly once, on any thread.
    /// What a peer sends is checked like what a client sends: a bad request gets a
    /// failure reply, never a crash.
    /// The leader-mode replica of the partition hosted here; nil after answering a refusal.
    private func hostedReplica(
        _ keyspace: String, _ partition: Int, reply: @Sendable (PeerReply) -> Void
    ) -> LeaderReplica? {
        if let replica = leaderReplicas.replica(keyspace: keyspace, partition: partition) { return replica }
        reply(
            PeerReply(
                RingstoreError(.unknownKeyspace, "no replica of leader-mode partition \(keyspace)/\(partition) here")))
        return nil
    }

    public func handle(_ request: PeerRequest, reply: @escaping @Sendable (PeerReply) -> Void) {
        switch request {
        case .leaderFetch(let keyspace, let partition, let fetch):
            guard let replica = hostedReplica(keyspace, partition, reply: reply) else { return }
            // The leader may hold the fetch until it has something new (up to 500 ms).
            replica.fetch(fetch) { answer, entries in reply(.leaderFetched(answer, entries)) }
        case .leaderSnapshot(let keyspace, let partition, let request):
            guard let replica = hostedReplica(keyspace, partition, reply: reply) else { return }
            replica.snapshot(request) { reply(.leaderSnapshotPart($0)) }
        case .leaderWrite(let write):
            leaderWrite(write, forwarded: true) { result in
                switch result {
                case .success(let written): reply(.leaderWritten(written.position, leader: written.leader))
                case .failure(let error): reply(PeerReply(error))
                }
            }
        case .leaderRead(let read):
            leaderRead(read, forwarded: true) { result in
                switch result {
                case .success(let value): reply(.leaderValue(value))
                case .failure(let error): reply(PeerReply(error))
                }
            }
        case .merge(let keyspace, let key, let object):
            do throws(RingstoreError) {
                let placement = try placement(keyspace: keyspace, key: key)
                guard object.policy == placement.keyspace.conflict else {
                    throw RingstoreError(
                        .invalidParameter, "the object's conflict policy is not keyspace '\(keyspace)''s")
                }
                guard placement.owners.contains(id) || placement.uncounted.contains(id) else {
                    // The partition moved away (a sender with an older ring, or a hint for
                    // this node): its owners get the object, not a copy to be dropped.
                    return forwardMerge(placement, keyspace: keyspace, key: key, object: object, reply: reply)
                }
                try mergeLocally(placement.storageKey, object) { error in
                    reply(error.map { PeerReply($0) } ?? .merged)
                }
            } catch {
                reply(PeerReply(error))
            }
        case .read(let keyspace, let key):
            do throws(RingstoreError) {
                let placement = try placement(keyspace: keyspace, key: key)
                reply(.object(try objects.object(placement.storageKey)))
            } catch {
                reply(PeerReply(error))
            }
        case .hint(let owner, let keyspace, let key, let object):
            do throws(RingstoreError) {
                let placement = try placement(keyspace: keyspace, key: key)
                guard object.policy == placement.keyspace.conflict else {
                    throw RingstoreError(
                        .invalidParameter, "the object's conflict policy is not keyspace '\(keyspace)''s")
                }
                guard placement.owners.contains(owner) else {
                    throw RingstoreError(.invalidParameter, "\(owner) does not replicate the key")
                }
                let done: @Sendable (RingstoreError?) -> Void = { error in reply(error.map { PeerReply($0) } ?? .merged)
                }
                if placement.owners.contains(id) {
                    try mergeLocally(placement.storageKey, object, durable: done)  // a replica keeps it as such
                } else {
                    storeHint(for: owner, keyspace: keyspace, key: key, object: object, durable: done)
                }
            } catch {
                reply(PeerReply(error))
            }
        case .treeLeaves(let keyspace, let partition):
            do throws(RingstoreError) {
                reply(try answerAntiEntropy(keyspace: keyspace, partition: partition, buckets: nil))
            } catch {
                reply(PeerReply(error))
            }
        case .bucketDigests(let keyspace, let partition, let buckets):
            do throws(RingstoreError) {
                reply(try answerAntiEntropy(keyspace: keyspace, partition: partition, buckets: buckets))
            } catch {
                reply(PeerReply(error))
            }
        case .tombstoneCheck(let keyspace, let key):
            do throws(RingstoreError) {
                reply(try answerTombstoneCheck(keyspace: keyspace, key: key))
            } catch {
                reply(PeerReply(error))
            }
        case .purge(let keyspace, let key, let object):
            do throws(RingstoreError) {
                purgeLocally(try placement(keyspace: keyspace, key: key).storageKey, object)
                reply(.merged)
            } catch {
                reply(PeerReply(error))
            }
        case .transferObjects(let keyspace, let keys):
            do throws(RingstoreError) {
                reply(try answerTransfer(keyspace: keyspace, keys: keys))
            } catch {
                reply(PeerReply(error))
            }
        case .ping:
            reply(.pong)
        case .coordinateWrite(let write):
            self.write(write, forwarded: true) { result in
                switch result {
                case .success(let outcome): reply(.written(outcome))
                case .failure(let error): reply(PeerReply(error))
                }
            }
        }
    }

    /// Passes a merge for a partition this node does not hold (any more) to its owners, as
    /// hints for themselves (a node that does not own the key by its own ring refuses
    /// such a hint, so a forward never bounces back); answers merged once every owner has it.
    private func forwardMerge(
        _ placement: Placement, keyspace: String, key: [UInt8], object: ReplicaObject,
        reply: @escaping @Sendable (PeerReply) -> Void
    ) {
        let left = Mutex((count: placement.owners.count, failures: [String]()))
        for owner in placement.owners {
            environment.network.send(
                .hint(owner: owner, keyspace: keyspace, key: key, object: object), to: owner,
                timeoutMillis: defaultTimeoutMillis
            ) { answer in
                let finished = left.withLock { state -> [String]? in
                    if case .success(.merged) = answer {
                    } else {
                        state.failures.append("\(owner): \(answer)")
                    }
                    state.count -= 1
                    return state.count == 0 ? state.failures : nil
                }
                guard let failures = finished else { return }
                reply(
                    failures.isEmpty
                        ? .merged
                        : PeerReply(
                            RingstoreError(
                                .unavailable,
                                "the key's partition moved; forwarding to its owners failed: \(failures.joined(separator: "; "))"
                            )))
            }
        }
    }

    /// Keeps `object` as a hint for `owner`; `durable` runs once it is on disk, or with
    /// why it could not be kept.
    func storeHint(
        for owner: NodeID, keyspace: String, key: [UInt8], object: ReplicaObject,
        durable: @escaping @Sendable (RingstoreError?) -> Void
    ) {
        guard let handoff else {
            durable(RingstoreError(.unavailable, "node \(id) keeps no hints"))
            return
        }
        do throws(RingstoreError) {
            try handoff.store(owner: owner, keyspace: keyspace, key: key, object: object, durable: durable)
            environment.metrics.hintsStored.increment()
        } catch {
            durable(error)
        }
    }
}
