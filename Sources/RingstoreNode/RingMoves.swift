import Logging
import RingstoreCore
import Synchronization

/// Where a cluster keeps its ring and learns which ring versions its nodes run: etcd for
/// the server, a shared value for the simulator.
public protocol RingDirectory: Sendable {
    /// Stores `ring` if the stored ring is still at `version`; `completion` gets nil when
    /// it was stored, else the stored ring (or nil for both when unreachable: `stored`
    /// false).
    func replace(
        version: Int, with ring: Ring, completion: @escaping @Sendable (_ stored: Bool, _ current: Ring?) -> Void)

    /// The lowest ring version any running node of the cluster has installed, if known.
    func lowestRunningVersion() -> Int?

    /// The nodes known to run now (registered), if known.
    func runningNodes() -> Set<NodeID>?
}

/// A node's part in the partition moves of its ring (issue 16): it copies the partition
/// replicas that come to it in each move's phase (up to `parallel` partitions at a time,
/// within the node's transfer budget), records each finished copy in the ring by a
/// compare-and-swap (the last one of a phase advances the move), starts a draining
/// phase's copy only once every node runs that phase's ring, and drops the copies of
/// partitions it no longer holds once every node runs a ring without them. It works from
/// timers and callbacks, so the simulator drives the same code as the server.
public final class RingMoves: Sendable {
    let node: Node
    let directory: any RingDirectory
    let parallel: Int
    let intervalMillis: UInt32
    private struct State {
        /// Copies running: partition and phase.
        var running: Set<Step> = []
        /// Copies finished and not yet recorded in the ring.
        var finished: Set<Step> = []
        /// When a failed copy may start again (wall millis).
        var retryAt: [Step: UInt64] = [:]
        var recording = false
        var stopped = false
    }

    struct Step: Hashable {
        var partition: Int
        var phase: PartitionMove.Phase
    }

    private let state = Mutex(State())

    public init(node: Node, directory: any RingDirectory, parallel: Int = 4, intervalMillis: UInt32 = 250) {
        self.node = node
        self.directory = directory
        self.parallel = max(1, parallel)
        self.intervalMillis = intervalMillis
    }

    /// Starts the periodic round; it ends with `stop()` or the node's.
    public func start() { schedule() }

    public func stop() { state.withLock { $0.stopped = true } }

    private func schedule() {
        _ = node.environment.timers.after(millis: intervalMillis) { [weak self] in
            guard let self, !node.isStopped, !state.withLock({ $0.stopped }) else { return }
            round()
            schedule()
        }
    }

    /// One round: record finished copies, start due ones, drop what moved away.
    public func round() {
        let ring = node.ring
        let lowest = directory.lowestRunningVersion()
        record(ring)
        let now = node.environment.wallMillis()
        let due = state.withLock { state -> [PartitionMove] in
            var due: [PartitionMove] = []
            for move in ring.moves where move.required.contains(node.id) && !move.done.contains(node.id) {
                let step = Step(partition: move.partition, phase: move.phase)
                guard state.running.count < parallel, !state.running.contains(step),
                    !state.finished.contains(step), state.retryAt[step, default: 0] <= now
                else { continue }
                // A draining copy catches what only the outgoing owners got while they
                // counted: it starts once no node runs a ring where they still count.
                if move.phase == .draining, (lowest ?? 0) < move.since { continue }
                state.running.insert(step)
                due.append(move)
            }
            return due
        }
        for move in due {
            let step = Step(partition: move.partition, phase: move.phase)
            node.copy(move, running: directory.runningNodes()) { [self] result in
                state.withLock { state in
                    state.running.remove(step)
                    switch result {
                    case .success: state.finished.insert(step)
                    case .failure: state.retryAt[step] = node.environment.wallMillis() + 2_000
                    }
                }
                if case .failure(let error) = result {
                    node.logger.warning(
                        "copying a partition failed; trying again",
                        metadata: ["partition": "\(move.partition)", "phase": "\(move.phase)", "error": "\(error)"])
                }
                record(node.ring)
            }
        }
        if let lowest, lowest >= ring.version { _ = node.dropUnheldReplicas() }
    }

    /// Records the finished copies in the ring, all of them in one compare-and-swap, one
    /// at a time (a conflict installs the ring it lost to and tries again on that).
    private func record(_ ring: Ring) {
        let next = state.withLock { state -> ([Step], Ring)? in
            guard !state.recording else { return nil }
            // Copies the ring no longer asks for (recorded already, or the move moved on) are forgotten.
            state.finished = state.finished.filter { step in
                guard let move = ring.move(PartitionID(step.partition)) else { return false }
                return move.phase == step.phase && !move.done.contains(node.id)
            }
            let steps = state.finished.sorted { ($0.partition, $0.phase.rawValue) < ($1.partition, $1.phase.rawValue) }
            guard let advanced = ring.recording(done: node.id, steps.map { ($0.partition, $0.phase) }) else {
                return nil
            }
            state.recording = true
            return (steps, advanced)
        }
        guard let (steps, advanced) = next else { return }
        directory.replace(version: ring.version, with: advanced) { [self] stored, current in
            state.withLock { state in
                state.recording = false
                if stored { state.finished.subtract(steps) }
            }
            if stored {
                node.logger.info(
                    "partition copies recorded",
                    metadata: [
                        "partitions": "\(steps.map { "\($0.partition) \($0.phase)" })", "ring": "\(advanced.version)",
                    ])
                node.install(ring: advanced)
                record(advanced)
            } else if let current {
                node.install(ring: current)
                record(current)
            }
        }
    }
}
