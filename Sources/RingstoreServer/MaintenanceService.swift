import CoreMetrics
import LogStore
import Logging
import NIOPosix
import ServiceLifecycle

/// Background work of a node: publishes store gauges every second and runs compaction
/// (on NIO's thread pool, never on the cooperative pool) at the configured interval.
/// It stops at once on graceful shutdown; `NodeServer.close()` closes the store after.
final class MaintenanceService: Service, Sendable {
    let store: LogStore
    let threadPool: NIOThreadPool
    let compactionInterval: Duration
    let logger: Logger
    let gauges: StoreGauges

    init(
        store: LogStore, threadPool: NIOThreadPool, compactionInterval: Duration,
        factory: any MetricsFactory, logger: Logger
    ) {
        self.store = store
        self.threadPool = threadPool
        self.compactionInterval = compactionInterval
        self.logger = logger
        gauges = StoreGauges(factory: factory)
    }

    func run() async throws {
        var sinceCompaction = Duration.zero
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            gauges.publish(store.statistics())
            if sinceCompaction >= compactionInterval {
                sinceCompaction = .zero
                let store = store
                do {
                    _ = try await threadPool.runIfActive { try store.compact() }
                } catch {
                    logger.error("compaction failed", metadata: ["error": "\(error)"])
                }
            }
            // Cut short by graceful shutdown, so a stopping node does not wait out the second.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            sinceCompaction += .seconds(1)
        }
    }
}

/// Store figures as Prometheus gauges.
struct StoreGauges: Sendable {
    let keys: Gauge
    let tombstones: Gauge
    let bytes: Gauge
    let deadBytes: Gauge
    let segments: Gauge
    let compactions: Gauge
    let reclaimed: Gauge
    let fsyncs: Gauge
    let groupCommits: Gauge
    let records: Gauge
    let compressionRatio: Gauge

    init(factory: any MetricsFactory) {
        func gauge(_ name: String) -> Gauge { Gauge(label: name, dimensions: [], factory: factory) }
        keys = gauge("ringstore_store_keys")
        tombstones = gauge("ringstore_store_tombstones")
        bytes = gauge("ringstore_store_bytes")
        deadBytes = gauge("ringstore_store_dead_bytes")
        segments = gauge("ringstore_store_segments")
        compactions = gauge("ringstore_store_compactions")
        reclaimed = gauge("ringstore_store_compaction_reclaimed_bytes")
        fsyncs = gauge("ringstore_store_fsyncs")
        groupCommits = gauge("ringstore_store_group_commits")
        records = gauge("ringstore_store_records_written")
        compressionRatio = gauge("ringstore_store_compression_ratio")
    }

    func publish(_ s: LogStoreStatistics) {
        keys.record(s.liveKeys)
        tombstones.record(s.tombstones)
        bytes.record(Int(s.totalBytes))
        deadBytes.record(Int(s.deadBytes))
        segments.record(s.segments)
        compactions.record(s.compactions)
        reclaimed.record(Int(s.bytesReclaimed))
        fsyncs.record(s.fsyncs)
        groupCommits.record(s.groupCommits)
        records.record(s.recordsWritten)
        if s.storedValueBytesWritten > 0 {
            compressionRatio.record(Double(s.rawValueBytesWritten) / Double(s.storedValueBytesWritten))
        }
    }
}
