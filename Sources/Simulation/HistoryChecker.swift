import Replication
import RingstoreCore

extension ClusterSimulation {
    /// Every broken promise of the run, empty when none:
    /// - the final `r=all` read of every key answered;
    /// - no acknowledged write is missing: under `vv` it is a sibling of the final
    ///   object (with its own value) or was causally overwritten: a later client write
    ///   sent a context that covers its dot; under `lww` the final winner is the write itself or a newer one;
    /// - after read repair, every owner holds exactly the final object (replicas converge).
    public func check() -> [String] {
        var problems: [String] = []
        for index in 0..<options.keys {
            let key = "k\(index)"
            guard let final = finalObjects[key] else {
                problems.append("\(key): the final r=all read did not answer")
                continue
            }
            for copy in ownerCopies[key, default: [:]] where copy.value != final {
                problems.append("\(key): owner \(copy.key) did not converge after read repair")
            }
            for write in acknowledged where write.key == key {
                let version = write.outcome.version
                guard let final else {
                    problems.append("\(key): acknowledged write \(version) is lost: the key is gone")
                    continue
                }
                switch options.policy {
                case .vv:
                    let dot = Dot(node: version.node, counter: write.outcome.context[version.node])
                    if let sibling = final.siblings.first(where: { $0.dot == dot }) {
                        if (sibling.value ?? []) != write.value {
                            problems.append("\(key): dot \(dot) carries another value than the write acknowledged")
                        }
                    } else if !sentContexts[key, default: []].contains(where: { $0.covers(dot) }) {
                        problems.append("\(key): acknowledged write \(dot) is lost; no client overwrote it")
                    }
                case .lww:
                    guard let winner = final.siblings.first else {
                        problems.append("\(key): the final object has no value")
                        continue
                    }
                    if (winner.timestamp, winner.dot.node) < (version.timestamp, version.node) {
                        problems.append("\(key): acknowledged write \(version) lost to the older \(winner.version)")
                    }
                }
            }
        }
        return problems
    }

    /// The command that replays this run.
    public var replayCommand: String {
        "swift run ringstore-sim --seed \(seed) --nodes \(options.nodeCount) --policy \(options.policy.rawValue)"
    }
}
