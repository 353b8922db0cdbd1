/// One phase's figures (load or run), as the JSON output holds them.
public struct PhaseResult: Codable, Sendable {
    /// One second of the run: operations completed, their p99 and the errors in it.
    public struct Interval: Codable, Sendable {
        public var second: Int
        public var operations: UInt64
        public var p99: UInt64
        public var errors: Int
    }

    public var operations: UInt64
    public var seconds: Double
    public var throughput: Double
    /// Reads that found no record (not errors).
    public var notFound: Int
    public var errors: [String: Int]
    /// Latency by operation kind, and `all`, in microseconds.
    public var latency: [String: LatencySummary]
    /// (percentile, microseconds) points of all operations' latency.
    public var cdf: [[Double]]
    public var series: [Interval]

    enum CodingKeys: String, CodingKey {
        case operations, seconds, throughput, errors, latency, cdf, series
        case notFound = "not_found"
    }
}

/// What a run of `ringstore-bench` measured and how it was set up: the JSON the report
/// step reads.
public struct BenchResult: Codable, Sendable {
    public var tool = "ringstore-bench"
    public var label: String
    public var target: String
    public var endpoints: [String]
    public var workload: Workload
    public var distribution: RequestDistribution
    public var records: Int
    public var valueBytes: Int
    public var connections: Int
    public var warmupSeconds: Int
    public var durationSeconds: Int?
    public var operationLimit: Int?
    public var seed: UInt64
    /// The target's own settings (consistency parameters, WAIT, serializable reads).
    public var parameters: [String: String]
    public var startedAt: String
    public var machine: MachineLoad
    public var load: PhaseResult?
    public var run: PhaseResult

    public init(
        label: String, target: String, endpoints: [String], workload: Workload, distribution: RequestDistribution,
        records: Int, valueBytes: Int, connections: Int, warmupSeconds: Int, durationSeconds: Int?,
        operationLimit: Int?, seed: UInt64, parameters: [String: String], startedAt: String, machine: MachineLoad,
        load: PhaseResult?, run: PhaseResult
    ) {
        self.label = label
        self.target = target
        self.endpoints = endpoints
        self.workload = workload
        self.distribution = distribution
        self.records = records
        self.valueBytes = valueBytes
        self.connections = connections
        self.warmupSeconds = warmupSeconds
        self.durationSeconds = durationSeconds
        self.operationLimit = operationLimit
        self.seed = seed
        self.parameters = parameters
        self.startedAt = startedAt
        self.machine = machine
        self.load = load
        self.run = run
    }

    enum CodingKeys: String, CodingKey {
        case tool, label, target, endpoints, workload, distribution, records, connections, seed, parameters, machine,
            load, run
        case valueBytes = "value_bytes"
        case warmupSeconds = "warmup_seconds"
        case durationSeconds = "duration_seconds"
        case operationLimit = "operation_limit"
        case startedAt = "started_at"
    }
}

/// How busy the machine was around the run (shared machines: read figures with this).
public struct MachineLoad: Codable, Sendable {
    public var cpus: Int
    public var loadAverageBefore: Double?
    public var loadAverageAfter: Double?
    /// Share of CPU time busy (not idle) over the run, all cores, from /proc/stat.
    public var busyShare: Double?

    public init(cpus: Int, loadAverageBefore: Double?, loadAverageAfter: Double?, busyShare: Double?) {
        self.cpus = cpus
        self.loadAverageBefore = loadAverageBefore
        self.loadAverageAfter = loadAverageAfter
        self.busyShare = busyShare
    }

    enum CodingKeys: String, CodingKey {
        case cpus
        case loadAverageBefore = "load_average_before"
        case loadAverageAfter = "load_average_after"
        case busyShare = "busy_share"
    }
}
