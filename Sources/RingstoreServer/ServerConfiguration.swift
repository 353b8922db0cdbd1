import LogStore
import RingstoreCore
import RingstoreNode

/// Everything a node needs to start, validated as a whole before anything opens.
/// Flags override the defaults; the `ringstore serve` command builds it.
public struct ServerConfiguration: Sendable, Codable {
    public var nodeID: String = "n1"
    public var dataDirectory: String = "./data"
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 8080
    /// `always`, `interval` or `none`.
    public var sync: String = "always"
    public var syncIntervalMillis: Int = 100
    public var segmentBytesMax: UInt64 = 128 * 1024 * 1024
    public var compression: Bool = true
    public var compactionDeadRatio: Double = 0.5
    public var compactionIntervalSeconds: Int = 30
    public var limits: Limits = .default
    /// Peer listen address; used when the node is a cluster member.
    public var peerHost: String = "127.0.0.1"
    public var peerPort: Int = 9080
    /// The peer address registered for the other members, when it is not the listen
    /// address (a proxy in front of it, as the fault bench's latency proxy is).
    public var advertisedPeer: String?
    /// etcd's client URL; nil for a node that runs alone.
    public var etcdEndpoint: String?
    /// The cluster's name in etcd.
    public var cluster: String = "ringstore"
    /// Hint replay: average bytes per second, and hints in flight at most.
    public var hintReplayBytesPerSecond: Int = 1 << 20
    public var hintReplayInFlight: Int = 8
    /// Anti-entropy: one exchange per interval, repairs per second at most; 0 turns it off.
    public var antiEntropyIntervalMillis: Int = 1000
    public var antiEntropyKeysPerSecond: Int = 100
    /// Deleted keys are purged this long after their delete at the soonest; 0 never purges.
    public var tombstoneGraceMillis: Int = 600_000
    /// Added to the wall clock the node stamps writes with: clock skew for fault tests.
    public var clockOffsetMillis: Int = 0
    /// Leader mode: a leader answers linearizable reads from its committed state while its
    /// etcd lease surely holds, instead of asking etcd for each (README, "Lease reads").
    public var leaseReads: Bool = true
    /// Leader mode: how many bytes of entries each partition's log keeps for replicas that
    /// lag; beyond it applied entries are trimmed and such a replica gets a snapshot.
    public var leaderLogRetainBytes: Int = 64 << 20
    /// Bytes per second this node receives in partition copies when the ring moves
    /// partitions to it (0: unlimited).
    public var transferBytesPerSecond: Int = 32 << 20

    public init() {}

    public var syncPolicy: SyncPolicy {
        switch sync {
        case "none": .none
        case "interval": .interval(.milliseconds(syncIntervalMillis))
        default: .always
        }
    }

    /// Every problem with the configuration at once, or none.
    public func problems() -> [String] {
        var found: [String] = []
        if nodeID.isEmpty || nodeID.utf8.count > 64 { found.append("node id must be 1 to 64 characters") }
        if !["always", "interval", "none"].contains(sync) {
            found.append("sync must be always, interval or none, not '\(sync)'")
        }
        if syncIntervalMillis < 1 { found.append("sync interval must be at least 1 ms") }
        if leaderLogRetainBytes < 0 { found.append("leader log retention must be 0 bytes or more") }
        if transferBytesPerSecond < 0 {
            found.append("the transfer budget must be 0 (unlimited) or more bytes per second")
        }
        if !(0...65535).contains(httpPort) { found.append("HTTP port \(httpPort) is out of range") }
        if segmentBytesMax < 4096 || segmentBytesMax > UInt64(UInt32.max) {
            found.append("segment size must be between 4 KiB and 4 GiB")
        }
        if !(0.05...1).contains(compactionDeadRatio) {
            found.append("compaction dead ratio must be between 0.05 and 1")
        }
        if limits.keyBytesMax < 1 || limits.keyBytesMax > 60 * 1024 {
            found.append("key limit must be 1 byte to 60 KiB")
        }
        if limits.valueBytesMax < 1 || limits.valueBytesMax > 64 * 1024 * 1024 {
            found.append("value limit must be 1 byte to 64 MiB")
        }
        if !(0...65535).contains(peerPort) { found.append("peer port \(peerPort) is out of range") }
        if etcdEndpoint != nil, (try? ClusterMetadata(cluster: cluster)) == nil {
            found.append("cluster name must be 1-64 of a-z, 0-9, '-' and '_'")
        }
        if !(1...10_000).contains(limits.siblingsMax) { found.append("sibling limit must be 1 to 10000") }
        if hintReplayBytesPerSecond < 1 { found.append("hint replay rate must be at least 1 byte/s") }
        if !(1...1024).contains(hintReplayInFlight) { found.append("hints in flight must be 1 to 1024") }
        if !(0...3_600_000).contains(antiEntropyIntervalMillis) {
            found.append("anti-entropy interval must be 0 (off) to 3600000 ms")
        }
        if abs(clockOffsetMillis) > 86_400_000 { found.append("clock offset must be within a day") }
        if tombstoneGraceMillis < 0 { found.append("tombstone grace must be 0 (never purge) or more ms") }
        if antiEntropyKeysPerSecond < 1 { found.append("anti-entropy repairs must be at least 1 key/s") }
        if dataDirectory.isEmpty { found.append("data directory must not be empty") }
        return found
    }

    var handoff: HandoffSettings {
        HandoffSettings(bytesPerSecond: hintReplayBytesPerSecond, inFlightMax: hintReplayInFlight)
    }

    var antiEntropy: AntiEntropySettings {
        AntiEntropySettings(
            intervalMillis: UInt32(max(1, antiEntropyIntervalMillis)), keysPerSecond: antiEntropyKeysPerSecond,
            enabled: antiEntropyIntervalMillis > 0)
    }

    var tombstones: TombstoneSettings {
        TombstoneSettings(graceMillis: UInt64(max(0, tombstoneGraceMillis)), enabled: tombstoneGraceMillis > 0)
    }

    /// The hint log: the data store's sync policy and compression, smaller segments.
    var hintStoreConfiguration: LogStoreConfiguration {
        LogStoreConfiguration(
            directory: dataDirectory + "/hints", syncPolicy: syncPolicy,
            segmentBytesMax: min(segmentBytesMax, 16 << 20),
            compression: compression, compactionDeadRatio: compactionDeadRatio
        )
    }

    var storeConfiguration: LogStoreConfiguration {
        LogStoreConfiguration(
            directory: dataDirectory + "/store", syncPolicy: syncPolicy, segmentBytesMax: segmentBytesMax,
            compression: compression, compactionDeadRatio: compactionDeadRatio
        )
    }
}
