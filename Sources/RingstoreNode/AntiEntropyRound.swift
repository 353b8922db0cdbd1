import Replication
import RingstoreCore

extension Node {
    /// When each partition replica this node holds last converged with its peer (wall
    /// millis), and the replicas it holds that never did.
    public var antiEntropyStatus: (converged: [PartitionReplica: UInt64], never: [PartitionReplica]) {
        let converged = antiEntropy.convergence
        let held = antiEntropyCandidates().map(\.replica)
        return (converged.filter { held.contains($0.key) }, held.filter { converged[$0] == nil })
    }

    /// How many keys this node holds of each partition replica of a leaderless keyspace
    /// (owned or not: a copy not dropped yet counts too), from the anti-entropy index.
    public var heldKeyCounts: [PartitionReplica: Int] { antiEntropy.keyCounts().filter { $0.value > 0 } }

    /// Every partition replica of a leaderless keyspace that this node holds, with the
    /// peer it compares with: the next owner after it, so the owners of a partition
    /// compare in a cycle and every pair converges through it.
    func antiEntropyCandidates() -> [(replica: PartitionReplica, peer: NodeID)] {
        let ring = ring
        var candidates: [(PartitionReplica, NodeID)] = []
        for keyspace in keyspaces() where keyspace.mode == .leaderless && keyspace.replicationFactor > 1 {
            for index in 0..<ring.partitionCount {
                let owners = ring.owners(PartitionID(index), replicationFactor: keyspace.replicationFactor)
                guard let mine = owners.firstIndex(of: id) else { continue }
                candidates.append(
                    (
                        PartitionReplica(keyspace: keyspace.name.name, partition: index),
                        owners[(mine + 1) % owners.count]
                    ))
            }
        }
        return candidates
    }

    /// Exchanges that found equal trees run back to back up to this many per interval.
    static let equalExchangesPerTick = 16

    func scheduleAntiEntropy() {
        guard antiEntropy.settings.enabled, !isStopped else { return }
        _ = environment.timers.after(millis: antiEntropy.settings.intervalMillis) { [weak self] in
            guard let self, !isStopped else { return }
            startExchange()
            scheduleAntiEntropy()
        }
    }

    /// Starts the next exchange in turn, unless one still runs or its peer is suspected.
    /// An exchange that finds the two trees equal costs one round trip, so the next one
    /// follows at once, up to `equalExchangesPerTick` in a row: a cycle over every
    /// partition replica takes that many times fewer intervals while replicas agree.
    func startExchange(chained: Int = 0) {
        guard antiEntropy.tryStart() else { return }
        guard let (replica, peer) = antiEntropy.next(of: antiEntropyCandidates()),
            !environment.network.isSuspected(peer)
        else {
            antiEntropy.release()
            return
        }
        let timeout = antiEntropy.settings.timeoutMillis
        let network = environment.network
        let run = MachineRun(AntiEntropyExchange())
        run.onAction = { [self] action in
            switch action {
            case .fetchLeaves:
                network.send(
                    .treeLeaves(keyspace: replica.keyspace, partition: replica.partition), to: peer,
                    timeoutMillis: timeout
                ) { [self] reply in
                    guard case .success(.leaves(let leaves)) = reply, let theirs = HashTree(leaves: leaves) else {
                        run.handle(.failed("\(peer) sent no tree: \(reply)"))
                        return
                    }
                    run.handle(.leaves(mine: antiEntropy.tree(replica), theirs: theirs))
                }
            case .fetchBuckets(let buckets):
                network.send(
                    .bucketDigests(keyspace: replica.keyspace, partition: replica.partition, buckets: buckets),
                    to: peer, timeoutMillis: timeout
                ) { [self] reply in
                    guard case .success(.digests(let theirs)) = reply else {
                        run.handle(.failed("\(peer) sent no digests: \(reply)"))
                        return
                    }
                    let mine = antiEntropy.digests(replica, buckets: Set(buckets))
                    run.handle(.buckets(buckets, mine: mine, theirs: theirs))
                }
            case .repair(let storageKey):
                let delay = antiEntropy.repairDelay(now: environment.wallMillis())
                _ = environment.timers.after(millis: UInt32(clamping: delay)) { [self] in
                    repair(storageKey, with: peer, timeoutMillis: timeout) { succeeded in
                        run.handle(.repaired(storageKey, succeeded: succeeded))
                    }
                }
            case .finish(let outcome):
                environment.metrics.antiEntropyExchanges(outcome).increment()
                environment.metrics.antiEntropyRepairs.increment(by: outcome.repairedKeys)
                antiEntropy.finished(replica, converged: outcome.converged, now: environment.wallMillis())
                if outcome.converged, outcome.differingBuckets == 0, chained + 1 < Self.equalExchangesPerTick {
                    startExchange(chained: chained + 1)
                }
            }
        }
        run.start()
    }

    /// Brings one key to the join of this replica's and `peer`'s copies on both: reads
    /// the peer's, merges it here, and sends the result back when the peer lacks some of it.
    private func repair(
        _ storageKey: [UInt8], with peer: NodeID, timeoutMillis: UInt32, done: @escaping @Sendable (Bool) -> Void
    ) {
        guard let (keyspace, key) = StorageKey.split(storageKey) else { return done(false) }
        environment.network.send(.read(keyspace: keyspace, key: key), to: peer, timeoutMillis: timeoutMillis) {
            [self] reply in
            guard case .success(.object(let theirs)) = reply else { return done(false) }
            do throws(RingstoreError) {
                let mine = try objects.object(storageKey)
                guard let joined = [mine, theirs].compactMap({ $0 }).reduce(nil, { $0?.merged(with: $1) ?? $1 }) else {
                    return done(true)  // neither has it any more
                }
                let pushBack = { @Sendable [self] in
                    guard joined != theirs else { return done(true) }
                    environment.network.send(
                        .merge(keyspace: keyspace, key: key, object: joined), to: peer, timeoutMillis: timeoutMillis
                    ) { reply in
                        if case .success(.merged) = reply { done(true) } else { done(false) }
                    }
                }
                if let theirs, joined != mine {
                    try mergeLocally(storageKey, theirs) { error in error == nil ? pushBack() : done(false) }
                } else {
                    pushBack()
                }
            } catch {
                done(false)
            }
        }
    }

    /// Answers a peer's anti-entropy request for a partition replica this node holds (as
    /// an owner, or as the pending or outgoing owner of a move: a copy asks the same).
    func answerAntiEntropy(keyspace: String, partition: Int, buckets: [Int]?) throws(RingstoreError) -> PeerReply {
        let keyspace = try self.keyspace(named: keyspace)
        let ring = ring
        guard (0..<ring.partitionCount).contains(partition),
            (buckets ?? []).allSatisfy({ (0..<HashTree.bucketCount).contains($0) }),
            ring.owners(PartitionID(partition), replicationFactor: keyspace.replicationFactor).contains(id)
                || ring.uncountedOwners(PartitionID(partition), replicationFactor: keyspace.replicationFactor)
                    .contains(id)
        else {
            throw RingstoreError(.invalidParameter, "\(id) holds no partition \(partition) of '\(keyspace.name)'")
        }
        let replica = PartitionReplica(keyspace: keyspace.name.name, partition: partition)
        guard let buckets else { return .leaves(antiEntropy.tree(replica).leaves) }
        let digests = antiEntropy.digests(replica, buckets: Set(buckets))
        // Well inside a peer frame (2 MiB): a batch of this many keys fails the exchange.
        let bytes = digests.keys.reduce(0) { $0 + $1.count + 10 }
        guard bytes <= 1 << 20 else {
            throw RingstoreError(
                .unavailable, "the digests of \(buckets.count) buckets take \(bytes) bytes; the limit is 1 MiB")
        }
        return .digests(digests)
    }
}
