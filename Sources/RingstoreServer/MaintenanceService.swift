import CoreMetrics
import LogStore
import Logging
import NIOPosix
import ServiceLifecycle

/// Background work of a node: publishes the gauges of its stores (data, and the hint
/// log) every second and compacts them (on NIO's thread pool, never on the cooperative
/// pool) at the configured interval, and sooner when a store holds a segment's worth of
/// dead bytes (overwrites, and leader-mode logs trimmed once applied, make garbage at the
/// write rate: compaction keeps pace with it). It stops at once on graceful shutdown;
/// `NodeServer.close()` closes the stores after.
final class MaintenanceService: Service, Sendable {
    let stores: [(store: LogStore, gauges: StoreGauges)]
    let threadPool: NIOThreadPool
    let compactionInterval: Duration
    let logger: Logger

    /// `stores` pairs each store with the prefix of its gauges' names.
    init(
        stores: [(LogStore, String)], threadPool: NIOThreadPool, compactionInterval: Duration,
        factory: any MetricsFactory, logger: Logger
    ) {
        self.stores = stores.map { ($0.0, StoreGauges(factory: factory, prefix: $0.1)) }
        self.threadPool = threadPool
        self.compactionInterval = compactionInterval
        self.logger = logger
    }

    func run() async throws {
        var sinceCompaction = Duration.zero
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var garbage = false
            for (store, gauges) in stores {
                let statistics = store.statistics()
                gauges.publish(statistics)
                garbage = garbage || statistics.deadBytes >= store.configuration.segmentBytesMax
            }
            if sinceCompaction >= compactionInterval || garbage {
                sinceCompaction = .zero
                for (store, _) in stores {
                    do {
                        _ = try await threadPool.runIfActive { try store.compact() }
                    } catch {
                        logger.error("compaction failed", metadata: ["error": "\(error)"])
                    }
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

    /// Gauges named `<prefix>_keys` and so on (`ringstore_store` for the data store).
    init(factory: any MetricsFactory, prefix: String) {
        func gauge(_ name: String) -> Gauge { Gauge(label: prefix + "_" + name, dimensions: [], factory: factory) }
        keys = gauge("keys")
        tombstones = gauge("tombstones")
        bytes = gauge("bytes")
        deadBytes = gauge("dead_bytes")
        segments = gauge("segments")
        compactions = gauge("compactions")
        reclaimed = gauge("compaction_reclaimed_bytes")
        fsyncs = gauge("fsyncs")
        groupCommits = gauge("group_commits")
        records = gauge("records_written")
        compressionRatio = gauge("compression_ratio")
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
