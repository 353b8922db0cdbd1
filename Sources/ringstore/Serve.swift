import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import Prometheus
import RingstoreServer
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a node.")

    @Option(help: "This node's id.")
    var nodeId: String = "n1"

    @Option(help: "Where the node keeps its data.")
    var dataDir: String = "./data"

    @Option(help: "HTTP listen address, HOST:PORT.")
    var http: String = "127.0.0.1:8080"

    @Option(help: "Peer listen address, HOST:PORT (cluster members).")
    var peer: String = "127.0.0.1:9080"

    @Option(help: "The peer address other members connect to, HOST:PORT, when not --peer (a proxy in front).")
    var advertisePeer: String?

    @Option(help: "etcd's client URL; makes the node a member of --cluster. Without it the node runs alone.")
    var etcd: String?

    @Option(help: "The cluster's name in etcd.")
    var cluster: String = "ringstore"

    @Option(help: "When writes reach the disk: always (fsync before acknowledging), interval, none.")
    var sync: String = "always"

    @Option(help: "fsync interval in milliseconds for --sync interval.")
    var syncIntervalMs: Int = 100

    @Option(help: "Largest key in bytes.")
    var keyBytesMax: Int = 1024

    @Option(help: "Largest value in bytes.")
    var valueBytesMax: Int = 1 << 20

    @Option(help: "Most concurrent values (siblings) a vv key may hold; a write beyond gets 409.")
    var siblingsMax: Int = 100

    @Option(help: "Segment size in bytes before a new segment starts.")
    var segmentBytesMax: UInt64 = 128 * 1024 * 1024

    @Option(help: "Seconds between compaction checks.")
    var compactionIntervalSeconds: Int = 30

    @Option(help: "Hint replay: average bytes per second sent to owners that are back.")
    var hintReplayBytesPerSecond: Int = 1 << 20

    @Option(help: "Hint replay: hints sent and not yet acknowledged, at most.")
    var hintReplayInFlight: Int = 8

    @Option(help: "Anti-entropy: milliseconds between exchanges (one partition with one peer each); 0 turns it off.")
    var antiEntropyIntervalMs: Int = 1000

    @Option(help: "Anti-entropy: keys repaired per second at most.")
    var antiEntropyKeysPerSecond: Int = 100

    @Option(
        help:
            "Deleted keys are purged (once every replica has the delete and no node keeps a hint for them) no sooner than this many ms after the delete; 0 never purges."
    )
    var tombstoneGraceMs: Int = 600_000

    @Option(help: "Milliseconds added to this node's wall clock (clock skew, for fault tests).")
    var clockOffsetMs: Int = 0

    @Flag(
        help:
            "Leader mode: confirm every linearizable read through etcd instead of serving it under the leader's lease (lease reads assume clocks drift apart by under 10% of a lease)."
    )
    var noLeaseReads = false

    @Option(
        name: .customLong("leader-log-retain-bytes"),
        help:
            "Leader mode: bytes of entries each partition's log keeps for replicas that lag (applied entries beyond it are trimmed; a replica that needs them receives a snapshot)."
    )
    var leaderLogRetainBytes: Int = 64 << 20

    @Option(
        name: .customLong("transfer-bytes-per-second"),
        help:
            "Bytes per second this node receives in partition copies when a committed ring change moves partitions to it (0: unlimited)."
    )
    var transferBytesPerSecond: Int = 32 << 20

    @Flag(help: "Store values uncompressed.")
    var noCompression = false

    @Option(help: "SwiftNIO event loop threads (default: one per core).")
    var eventLoopThreads: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]) else {
            throw ValidationError("--http must be HOST:PORT, not '\(http)'")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var config = ServerConfiguration()
        config.nodeID = nodeId
        config.dataDirectory = dataDir
        config.httpHost = String(http[..<colon])
        config.httpPort = port
        guard let peerAddress = ClusterMetadata.address(peer) else {
            throw ValidationError("--peer must be HOST:PORT, not '\(peer)'")
        }
        config.peerHost = peerAddress.host
        config.peerPort = peerAddress.port
        if let advertisePeer {
            guard ClusterMetadata.address(advertisePeer) != nil else {
                throw ValidationError("--advertise-peer must be HOST:PORT, not '\(advertisePeer)'")
            }
            config.advertisedPeer = advertisePeer
        }
        config.etcdEndpoint = etcd
        config.cluster = cluster
        config.sync = sync
        config.syncIntervalMillis = syncIntervalMs
        config.limits.keyBytesMax = keyBytesMax
        config.limits.valueBytesMax = valueBytesMax
        config.limits.siblingsMax = siblingsMax
        config.segmentBytesMax = segmentBytesMax
        config.compactionIntervalSeconds = compactionIntervalSeconds
        config.compression = !noCompression
        config.hintReplayBytesPerSecond = hintReplayBytesPerSecond
        config.hintReplayInFlight = hintReplayInFlight
        config.antiEntropyIntervalMillis = antiEntropyIntervalMs
        config.antiEntropyKeysPerSecond = antiEntropyKeysPerSecond
        config.tombstoneGraceMillis = tombstoneGraceMs
        config.clockOffsetMillis = clockOffsetMs
        config.leaseReads = !noLeaseReads
        config.leaderLogRetainBytes = leaderLogRetainBytes
        config.transferBytesPerSecond = transferBytesPerSecond
        let problems = config.problems()
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }

        let logger = Logger(label: "ringstore")
        let registry = PrometheusCollectorRegistry()
        if let eventLoopThreads, !(1...256).contains(eventLoopThreads) {
            throw ValidationError("--event-loop-threads must be 1 to 256")
        }
        let eventLoops: any EventLoopGroup =
            eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
            ?? MultiThreadedEventLoopGroup.singleton
        let server = try await NodeServer.open(config, registry: registry, group: eventLoops, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: server.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        await server.close()
        if let failure {
            logger.error("node stopped with an error", metadata: ["error": "\(failure)"])
            throw ExitCode.failure
        }
        logger.info("node stopped")
    }
}
