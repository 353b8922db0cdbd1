import ArgumentParser
import Foundation
import NIOPosix
import RingstoreBenchKit
import RingstoreClient

/// `ringstore-bench`: YCSB-style workloads against Ringstore, etcd or Redis, each over its
/// own ordinary protocol; a table on standard output and, with `--json`, the figures for
/// `bench/report.py`.
@main
struct RingstoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringstore-bench",
        abstract: "Run a YCSB-style workload against Ringstore, etcd or Redis.",
        discussion: """
            Workloads: a (50% read, 50% update), b (95/5), c (read only), d (95% read latest, \
            5% insert), f (50% read, 50% read-modify-write), write (update only).
            Example: ringstore-bench --target ringstore --endpoints 127.0.0.1:8081 --workload a \
            --write-params w=quorum --duration 30
            """)

    enum TargetKind: String, ExpressibleByArgument, CaseIterable {
        case ringstore, etcd, redis
    }

    @Option(help: "The system under test: \(TargetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var target: TargetKind

    @Option(help: "HOST:PORT[,HOST:PORT...] (http:// allowed); connections spread over them round robin.")
    var endpoints: String

    @Option(help: "Workload: a, b, c, d, f or write.")
    var workload: Workload = .a

    @Option(help: "Request distribution: zipfian (YCSB's 0.99), uniform or latest (default: the workload's).")
    var distribution: RequestDistribution?

    @Option(help: "Records in the data set (keys user0, user1, ...).")
    var records: Int = 10_000

    @Option(help: "Measured seconds (after the warm-up); 0 runs until --operations.")
    var duration: Int = 30

    @Option(help: "Operations to run when --duration is 0.")
    var operations: Int?

    @Option(help: "Seconds run before measuring (their figures are dropped).")
    var warmup: Int = 5

    @Option(help: "Concurrent connections, each with one request outstanding.")
    var connections: Int = 64

    @Option(help: "Bytes per value.")
    var valueBytes: Int = 1024

    @Flag(inversion: .prefixedNo, help: "Insert the records before the run (the load phase).")
    var load = true

    @Option(help: "Seed of the key and operation choices.")
    var seed: UInt64 = 1

    @Option(help: "Milliseconds an operation may take before its connection is closed and it counts as a timeout.")
    var timeoutMs: Int = 10_000

    @Option(help: "Ringstore: the keyspace.")
    var keyspace: String = "bench"

    @Option(help: "Ringstore: create the keyspace with this JSON definition first (PUT /v1/keyspaces/NAME).")
    var keyspaceDefinition: String?

    @Option(help: "Ringstore: query parameters of every read, e.g. r=quorum.")
    var readParams: String = ""

    @Option(help: "Ringstore: query parameters of every write, e.g. w=all.")
    var writeParams: String = ""

    @Flag(help: "etcd: serializable ranges (a member's local copy) instead of linearizable ones.")
    var etcdSerializable = false

    @Option(help: "Redis: WAIT for this many replicas after every SET (0: no WAIT).")
    var redisWait: Int = 0

    @Option(help: "Redis: WAIT's timeout in milliseconds.")
    var redisWaitTimeoutMs: Int = 1000

    @Option(help: "A name for this run in reports (default: the target's name).")
    var label: String?

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    @Flag(help: "No progress line on standard error.")
    var quiet = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be at least 1") }
        guard connections > 0, connections <= 4096 else { throw ValidationError("--connections must be 1...4096") }
        guard valueBytes >= 16, valueBytes <= 16 << 20 else {
            throw ValidationError("--value-bytes must be 16...16777216")
        }
        guard duration >= 0, warmup >= 0 else { throw ValidationError("--duration and --warmup cannot be negative") }
        if duration == 0 {
            guard let operations, operations > 0 else {
                throw ValidationError("--duration 0 needs --operations N (N > 0)")
            }
        }
        guard timeoutMs > 0 else { throw ValidationError("--timeout-ms must be positive") }
        guard redisWait >= 0 else { throw ValidationError("--redis-wait cannot be negative") }
        _ = try parsedEndpoints()
    }

    func parsedEndpoints() throws -> [Endpoint] {
        let list = endpoints.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !list.isEmpty else { throw ValidationError("--endpoints names no endpoint") }
        return try list.map { text in
            do {
                let client = try RingstoreClient(endpoint: text)
                return Endpoint(host: client.host, port: client.port)
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    func makeTarget() -> (any Target, [String: String]) {
        switch target {
        case .ringstore:
            var parameters = ["keyspace": keyspace]
            if !readParams.isEmpty { parameters["read"] = readParams }
            if !writeParams.isEmpty { parameters["write"] = writeParams }
            return (
                RingstoreTarget(keyspace: keyspace, readParameters: readParams, writeParameters: writeParams),
                parameters
            )
        case .etcd:
            return (
                EtcdTarget(serializable: etcdSerializable),
                ["reads": etcdSerializable ? "serializable" : "linearizable"]
            )
        case .redis:
            return (
                RedisTarget(waitReplicas: redisWait, waitTimeoutMillis: redisWaitTimeoutMs),
                redisWait > 0 ? ["wait": "\(redisWait)", "wait_timeout_ms": "\(redisWaitTimeoutMs)"] : [:]
            )
        }
    }

    /// A leader-mode keyspace is usable once every partition replica the node holds knows
    /// its leader (elections take a moment after the keyspace is created).
    func waitForLeaders(_ client: RingstoreClient) async throws {
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            let response = try await client.send(method: .GET, path: "/v1/cluster")
            let view = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let partitions = (view?["leader_partitions"] as? [[String: Any]] ?? []).filter {
                $0["keyspace"] as? String == keyspace
            }
            let known = (try? JSONSerialization.jsonObject(with: Data(keyspaceDefinition?.utf8 ?? "".utf8)))
            let isLeaderMode = (known as? [String: Any])?["mode"] as? String == "leader"
            if !isLeaderMode || (!partitions.isEmpty && partitions.allSatisfy { $0["leader"] is String }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the partitions of keyspace \(keyspace) got no leaders within 30 s")
    }

    func run() async throws {
        let endpoints = try parsedEndpoints()
        let (target, parameters) = makeTarget()
        if let keyspaceDefinition, self.target == .ringstore {
            let client = try RingstoreClient(endpoint: endpoints[0].description)
            let response = try await client.createKeyspace(keyspace, definitionJSON: keyspaceDefinition)
            guard (200..<300).contains(response.status) else {
                throw ValidationError("creating keyspace \(keyspace) failed: \(response.status) \(response.bodyText)")
            }
            try await waitForLeaders(client)
        }
        let settings = PhaseSettings(
            workload: workload, distribution: distribution ?? workload.defaultDistribution, recordCount: records,
            connections: connections, valueBytes: valueBytes, warmupSeconds: duration == 0 ? 0 : warmup,
            durationSeconds: duration == 0 ? nil : duration, operationLimit: duration == 0 ? operations : nil,
            timeout: .milliseconds(timeoutMs), seed: seed, progress: !quiet)
        let runner = BenchRunner(target: target, endpoints: endpoints, group: MultiThreadedEventLoopGroup.singleton)
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let loadBefore = MachineProbe.loadAverage()
        let cpuBefore = MachineProbe.cpuTimes()
        let loaded = load ? await runner.load(settings) : nil
        let cpuRunStart = MachineProbe.cpuTimes() ?? cpuBefore
        let measured = await runner.run(settings)
        let result = BenchResult(
            label: label ?? target.name, target: target.name, endpoints: endpoints.map(\.description),
            workload: workload, distribution: settings.distribution, records: records, valueBytes: valueBytes,
            connections: connections, warmupSeconds: settings.warmupSeconds, durationSeconds: settings.durationSeconds,
            operationLimit: settings.operationLimit, seed: seed, parameters: parameters, startedAt: startedAt,
            machine: MachineLoad(
                cpus: ProcessInfo.processInfo.activeProcessorCount, loadAverageBefore: loadBefore,
                loadAverageAfter: MachineProbe.loadAverage(),
                busyShare: MachineProbe.busyShare(from: cpuRunStart, to: MachineProbe.cpuTimes())),
            load: loaded, run: measured)
        print(ResultTable.render(result))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }
}

extension Workload: ExpressibleByArgument {}
extension RequestDistribution: ExpressibleByArgument {}
