import Replication
import RingstoreCore

extension ClusterSimulation {
    /// Every broken promise of the run, empty when none:
    /// - the final `r=all` read of every key answered;
    /// - no acknowledged write is missing: under `vv` it is a sibling of the final
    ///   object (with its own value) or was causally overwritten: a later client write
    ///   sent a context that covers its dot; under `lww` the final winner is the write itself or a newer one;
    /// - after read repair, every owner holds exactly the final object (replicas converge);
    /// - with strict quorums (R + W > N, not sloppy), every read that started after a
    ///   write was acknowledged sees it, by the same rules (read-your-writes);
    /// - after the heal every hint was handed over to its owner and deleted: every owner
    ///   that a fallback stood in for has the write before any read repairs it;
    /// - after the heal, before any read, anti-entropy (when it runs) made every owner of
    ///   every key hold the same object (replicas converge for keys nobody reads);
    /// - every partition move of a committed ring change ended (within 30 s of the heal),
    ///   and none ended with an incoming owner lacking a write that an outgoing one held
    ///   and counted (acknowledged before the draining phase began).
    public func check() -> [String] {
        var problems: [String] = []
        if unfinishedMoves > 0 { problems.append("\(unfinishedMoves) partition(s) still moved 30 s after the heal") }
        problems += movesLosingCopies
        let n = options.replicationFactor
        if !options.sloppy, options.readLevel.required(replicas: n) + options.writeLevel.required(replicas: n) > n {
            for read in completedReads {
                for write in acknowledged where write.key == read.key && write.acknowledgedAt < read.startedAt {
                    if let missing = missing(write, from: read.object) {
                        problems.append("\(read.key): a read started at \(read.startedAt) \(missing)")
                    }
                }
                if let replaced = cameBack(read.key, in: read.object, after: read.startedAt) {
                    problems.append("\(read.key): a read started at \(read.startedAt): \(replaced)")
                }
            }
        }
        for write in acknowledged {
            // An owner that gave the partition away since is not asked (its hints went to the owners).
            for owner in write.outcome.hinted where copiesBeforeRepair[write.key]?[owner] != nil {
                if let missing = missing(write, from: copiesBeforeRepair[write.key]?[owner] ?? nil) {
                    problems.append("\(write.key): hinted owner \(owner) after handoff \(missing)")
                }
            }
        }
        for (key, copies) in copiesBeforeRepair.sorted(by: { $0.key < $1.key }) where options.antiEntropy {
            let distinct = Set(copies.values.map { $0?.encoded() })
            if distinct.count > 1 {
                problems.append("\(key): owners differ after the heal, before any read: anti-entropy did not converge")
            }
        }
        for (node, count) in hintsLeft.sorted(by: { $0.key < $1.key }) where count > 0 {
            problems.append("\(node) still keeps \(count) hint(s) after the heal")
        }
        for index in 0..<options.keys {
            let key = "k\(index)"
            guard let final = finalObjects[key] else {
                problems.append("\(key): the final r=all read did not answer")
                continue
            }
            // A final read that found only tombstones repairs them onto every owner, which
            // may purge them after the grace period: no copy then is the same answer.
            let purged = final.map { $0.liveSiblings.isEmpty } ?? false
            for copy in ownerCopies[key, default: [:]] where copy.value != final && !(purged && copy.value == nil) {
                problems.append("\(key): owner \(copy.key) did not converge after read repair")
            }
            for write in acknowledged where write.key == key {
                if let missing = missing(write, from: final) { problems.append("\(key): the final read \(missing)") }
            }
            if let replaced = cameBack(key, in: final, after: nil) {
                problems.append("\(key): the final read: \(replaced)")
            }
        }
        return problems
    }

    /// Under `vv`, a value of `object` that a write acknowledged before `time` (any time
    /// when nil) replaced: its context covered the value's dot, so no replica may hold it
    /// any more, purged tombstones or not. Nil when there is none.
    func cameBack(_ key: String, in object: ReplicaObject?, after time: UInt64?) -> String? {
        guard options.policy == .vv, let object else { return nil }
        for sibling in object.siblings {
            if let replacing = acknowledged.first(where: {
                $0.key == key && $0.acknowledgedAt < (time ?? .max) && $0.context?.covers(sibling.dot) == true
            }) {
                return "\(sibling.dot) came back after \(replacing.outcome.version) replaced it"
            }
        }
        return nil
    }

    /// Why `object` (what a read returned) lacks an acknowledged write, or nil when it
    /// has it: under `vv` as a sibling with its own value or overwritten by a later
    /// client write whose context covered it; under `lww` as the winner or beaten by a
    /// newer one.
    func missing(_ write: AcknowledgedWrite, from object: ReplicaObject?) -> String? {
        let version = write.outcome.version
        guard let object else {
            // The key was purged: fine for a delete, or a value a delete removed: under
            // `vv` one whose context covered it, under `lww` one that may carry a newer
            // timestamp (invoked after the write, less the 200 ms of clock skew).
            let laterDelete =
                options.policy == .lww
                && deletesInvoked[write.key, default: []].contains { $0 + 200 > write.invokedAt }
            let dot = Dot(node: version.node, counter: write.outcome.context[version.node])
            let covered =
                options.policy == .vv && sentContexts[write.key, default: []].contains { $0.covers(dot) }
            return write.value == nil || laterDelete || covered
                ? nil : "lost acknowledged write \(version): the key is gone"
        }
        switch options.policy {
        case .vv:
            // A delete's tombstone may be purged; what it promised (the values it replaced
            // stay gone) is `cameBack`'s to check.
            guard write.value != nil else { return nil }
            let dot = Dot(node: version.node, counter: write.outcome.context[version.node])
            if let sibling = object.siblings.first(where: { $0.dot == dot }) {
                return sibling.value == write.value ? nil : "found dot \(dot) with another value"
            }
            return sentContexts[write.key, default: []].contains(where: { $0.covers(dot) })
                ? nil : "lost acknowledged write \(dot); no client overwrote it"
        case .lww:
            guard let winner = object.siblings.first else { return "found no value" }
            return (winner.timestamp, winner.dot.node) < (version.timestamp, version.node)
                ? "lost acknowledged write \(version) to the older \(winner.version)" : nil
        }
    }

    /// The command that replays this run.
    public var replayCommand: String {
        "swift run ringstore-sim --seed \(seed) --nodes \(options.nodeCount) --policy \(options.policy.rawValue)"
            + (options.sloppy ? " --sloppy" : "") + (options.ringChanges ? " --ring-changes" : "")
            + (options.writeLevel == .quorum ? "" : " --write-level \(options.writeLevel)")
            + (options.readLevel == .quorum ? "" : " --read-level \(options.readLevel)")
            + (options.antiEntropy ? "" : " --no-anti-entropy")
    }
}
