/// When acknowledged writes reach the disk.
public enum SyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Every acknowledged write was fsynced first (concurrent writers share one fsync).
    case always
    /// Writes are acknowledged once written; an fsync runs at this interval.
    case interval(Duration)
    /// Writes are acknowledged once written; the OS decides when they reach the disk.
    case none

    public var description: String {
        switch self {
        case .always: "always"
        case .interval(let d): "interval(\(d))"
        case .none: "none"
        }
    }
}

/// How a store is laid out and how it behaves. The defaults are what a node uses.
public struct LogStoreConfiguration: Sendable {
    public var directory: String
    public var syncPolicy: SyncPolicy
    /// A segment is closed and a new one started when an append would pass this size.
    public var segmentBytesMax: UInt64
    /// Whether values are LZ4-compressed when that saves at least an eighth.
    public var compression: Bool
    /// Whether values are compressed against a shared dictionary built from the first
    /// 64 KiB of values (otherwise each value is compressed alone).
    public var compressionDictionary: Bool = true
    /// Compaction rewrites a closed segment once this fraction of its bytes is dead.
    public var compactionDeadRatio: Double
    /// Largest number of bytes one group commit writes before it fsyncs.
    public var batchBytesMax: Int
    /// Whether compaction drops tombstones once no older value can exist on disk.
    public var purgeTombstones: Bool
    /// The active segment is zero-filled this far ahead of its end, so an fdatasync after
    /// an append finds its blocks allocated and has no file metadata to journal. 0 disables.
    public var preallocateBytes: Int
    /// Called with the duration of every fsync, in nanoseconds (for a latency histogram).
    public var syncObserver: (@Sendable (UInt64) -> Void)?

    public init(
        directory: String,
        syncPolicy: SyncPolicy = .always,
        segmentBytesMax: UInt64 = 128 * 1024 * 1024,
        compression: Bool = true,
        compactionDeadRatio: Double = 0.5,
        batchBytesMax: Int = 4 * 1024 * 1024,
        purgeTombstones: Bool = true,
        preallocateBytes: Int = 4 * 1024 * 1024
    ) {
        self.directory = directory
        self.syncPolicy = syncPolicy
        self.segmentBytesMax = segmentBytesMax
        self.compression = compression
        self.compactionDeadRatio = compactionDeadRatio
        self.batchBytesMax = batchBytesMax
        self.purgeTombstones = purgeTombstones
        self.preallocateBytes = preallocateBytes
        self.syncObserver = nil
    }
}
