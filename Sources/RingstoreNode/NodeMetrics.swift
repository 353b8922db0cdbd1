import CoreMetrics
import Replication
import RingstoreCore

/// What a node counts about the requests it coordinates, exported by the server for
/// Prometheus (`/metrics`); the simulator passes a factory that drops them.
public struct NodeMetrics: Sendable {
    let writesSucceeded: Counter
    let writesFailed: Counter
    let readsSucceeded: Counter
    let readsFailed: Counter
    let readRepairs: Counter
    let forwardedWrites: Counter
    let hintsStored: Counter
    let hintsReplayed: Counter
    let hintBytesReplayed: Counter
    let antiEntropyRepairs: Counter
    let tombstonesPurged: Counter
    let leaderLogCuts: Counter
    let leaderLogCutEntries: Counter
    let leaderSnapshotsBegun: Counter
    let leaderSnapshotsInstalled: Counter
    let leaderSnapshotBytesReceived: Counter
    let leaderSnapshotBytesSent: Counter
    let transferBytesReceived: Counter
    let transferBytesSent: Counter
    let transfersCopied: Counter
    let transfersFailed: Counter
    let droppedKeys: Counter
    private let exchangesConverged: Counter
    private let exchangesUnconverged: Counter
    private let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        writesSucceeded = counter("ringstore_coordinated_writes_total", [("outcome", "ok")])
        writesFailed = counter("ringstore_coordinated_writes_total", [("outcome", "failed")])
        readsSucceeded = counter("ringstore_coordinated_reads_total", [("outcome", "ok")])
        readsFailed = counter("ringstore_coordinated_reads_total", [("outcome", "failed")])
        readRepairs = counter("ringstore_read_repairs_total")
        forwardedWrites = counter("ringstore_forwarded_writes_total")
        hintsStored = counter("ringstore_hints_stored_total")
        hintsReplayed = counter("ringstore_hints_replayed_total")
        hintBytesReplayed = counter("ringstore_hint_bytes_replayed_total")
        antiEntropyRepairs = counter("ringstore_anti_entropy_repaired_keys_total")
        tombstonesPurged = counter("ringstore_tombstones_purged_total")
        leaderLogCuts = counter("ringstore_leader_log_cuts_total")
        leaderLogCutEntries = counter("ringstore_leader_log_cut_entries_total")
        leaderSnapshotsBegun = counter("ringstore_leader_snapshots_total", [("outcome", "begun")])
        leaderSnapshotsInstalled = counter("ringstore_leader_snapshots_total", [("outcome", "installed")])
        leaderSnapshotBytesReceived = counter("ringstore_leader_snapshot_bytes_total", [("direction", "received")])
        leaderSnapshotBytesSent = counter("ringstore_leader_snapshot_bytes_total", [("direction", "sent")])
        transferBytesReceived = counter("ringstore_transfer_bytes_total", [("direction", "received")])
        transferBytesSent = counter("ringstore_transfer_bytes_total", [("direction", "sent")])
        transfersCopied = counter("ringstore_partition_copies_total", [("outcome", "copied")])
        transfersFailed = counter("ringstore_partition_copies_total", [("outcome", "failed")])
        droppedKeys = counter("ringstore_dropped_keys_total")
        exchangesConverged = counter("ringstore_anti_entropy_exchanges_total", [("outcome", "converged")])
        exchangesUnconverged = counter("ringstore_anti_entropy_exchanges_total", [("outcome", "unconverged")])
        self.factory = factory
    }

    /// The counter of anti-entropy exchanges that ended like `outcome`.
    func antiEntropyExchanges(_ outcome: AntiEntropyExchange.Outcome) -> Counter {
        outcome.converged ? exchangesConverged : exchangesUnconverged
    }

    /// Hints this node keeps for `owner` (keys, each merged over all writes it missed).
    func hintBacklog(_ owner: NodeID) -> Gauge {
        Gauge(label: "ringstore_hint_backlog", dimensions: [("owner", owner.name)], factory: factory)
    }

    /// Metrics that go nowhere.
    public static let discarded = NodeMetrics(factory: NOOPMetricsHandler.instance)
}
