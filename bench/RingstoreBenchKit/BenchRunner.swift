import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where a benchmark connects: a host and port (connections spread over the endpoints
/// round robin).
public struct Endpoint: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// How one phase runs.
public struct PhaseSettings: Sendable {
    public var workload: Workload
    public var distribution: RequestDistribution
    public var recordCount: Int
    public var connections: Int
    public var valueBytes: Int
    public var warmupSeconds: Int
    /// Seconds measured after the warm-up; nil runs until `operationLimit`.
    public var durationSeconds: Int?
    public var operationLimit: Int?
    /// An operation unanswered this long closes its connection (counted as `timeout`).
    public var timeout: Duration
    public var seed: UInt64
    /// Print a progress line to standard error every second.
    public var progress: Bool

    public init(
        workload: Workload, distribution: RequestDistribution, recordCount: Int, connections: Int, valueBytes: Int,
        warmupSeconds: Int, durationSeconds: Int?, operationLimit: Int?, timeout: Duration, seed: UInt64,
        progress: Bool
    ) {
        self.workload = workload
        self.distribution = distribution
        self.recordCount = recordCount
        self.connections = connections
        self.valueBytes = valueBytes
        self.warmupSeconds = warmupSeconds
        self.durationSeconds = durationSeconds
        self.operationLimit = operationLimit
        self.timeout = timeout
        self.seed = seed
        self.progress = progress
    }
}

/// Runs phases against one target: opens the connections, samples them every second,
/// stops them at the end (closing any that hang) and sums what they measured.
public struct BenchRunner: Sendable {
    public let target: any Target
    public let endpoints: [Endpoint]
    let group: any EventLoopGroup

    public init(target: any Target, endpoints: [Endpoint], group: any EventLoopGroup) {
        precondition(!endpoints.isEmpty, "a run needs at least one endpoint")
        self.target = target
        self.endpoints = endpoints
        self.group = group
    }

    /// Inserts records `0..<recordCount` once each.
    public func load(_ settings: PhaseSettings) async -> PhaseResult {
        var loading = settings
        loading.warmupSeconds = 0
        loading.durationSeconds = nil
        return await run(.load, loading)
    }

    /// Runs the workload: a warm-up, then the measured duration or operation budget.
    public func run(_ settings: PhaseSettings) async -> PhaseResult {
        await run(.run, settings)
    }

    private func run(_ phase: RunControl.Phase, _ settings: PhaseSettings) async -> PhaseResult {
        let control = RunControl(
            phase: phase, workload: settings.workload, distribution: settings.distribution,
            recordCount: settings.recordCount, operationLimit: settings.operationLimit,
            timeoutNanos: UInt64(settings.timeout.components.seconds) * 1_000_000_000
                + UInt64(settings.timeout.components.attoseconds / 1_000_000_000))
        let recorders = (0..<settings.connections).map { _ in ConnectionRecorder() }
        let slots = (0..<settings.connections).map { _ in ChannelSlot() }
        let sampler = Sampler(
            control: control, recorders: recorders, slots: slots, settings: settings,
            label: phase == .load ? "load" : "run")
        let sampling = Task { await sampler.sample() }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<settings.connections {
                group.addTask {
                    await self.connection(
                        index, control: control, recorder: recorders[index], slot: slots[index], settings: settings)
                }
            }
        }
        let finished = ContinuousClock.now
        sampling.cancel()
        let sampled = await sampling.value
        let seconds = ((sampled.stoppedAt ?? finished) - sampled.measuredFrom) / .seconds(1)
        return Self.summary(recorders: recorders, seconds: seconds, series: sampled.series)
    }

    /// Keeps one connection open until the phase stops, reconnecting after a lost one.
    private func connection(
        _ index: Int, control: RunControl, recorder: ConnectionRecorder, slot: ChannelSlot, settings: PhaseSettings
    ) async {
        let endpoint = endpoints[index % endpoints.count]
        let target = self.target
        let seed = settings.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        while !control.stopped {
            let bootstrap = ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        switch target.framing {
                        case .http:
                            try pipeline.addHTTPClientHandlers()
                            try pipeline.addHandler(HTTPFramingHandler())
                        case .resp:
                            try pipeline.addHandler(ByteToMessageHandler(RESPDecoder()))
                            try pipeline.addHandler(RESPFramingHandler())
                        }
                        try pipeline.addHandler(
                            ClosedLoopConnection(
                                target: target, host: endpoint.description, control: control, recorder: recorder,
                                seed: seed, valueBytes: settings.valueBytes))
                    }
                }
            do {
                let channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
                slot.hold(channel)
                try? await channel.closeFuture.get()
                slot.hold(nil)
            } catch {
                recorder.failed("connect-failed")
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static func summary(recorders: [ConnectionRecorder], seconds: Double, series: [PhaseResult.Interval])
        -> PhaseResult
    {
        var byKind: [OperationKind: Histogram<UInt64>] = [:]
        var errors: [String: Int] = [:]
        var notFound = 0
        for recorder in recorders {
            let snapshot = recorder.snapshot()
            for (kind, histogram) in snapshot.totals {
                byKind[kind, default: LatencySummary.makeHistogram()].add(histogram)
            }
            errors.merge(snapshot.errors, uniquingKeysWith: +)
            notFound += snapshot.notFound
        }
        var all = LatencySummary.makeHistogram()
        var latency: [String: LatencySummary] = [:]
        for (kind, histogram) in byKind {
            all.add(histogram)
            latency[kind.rawValue] = LatencySummary(histogram)
        }
        latency["all"] = LatencySummary(all)
        let operations = all.totalCount
        return PhaseResult(
            operations: operations, seconds: seconds, throughput: seconds > 0 ? Double(operations) / seconds : 0,
            notFound: notFound, errors: errors, latency: latency, cdf: LatencySummary.cdf(all), series: series)
    }
}

/// The channel a connection has open, so that the sampler can close one that hangs.
final class ChannelSlot: Sendable {
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    func hold(_ channel: (any Channel)?) { self.channel.withLockedValue { $0 = channel } }

    func close() { channel.withLockedValue { $0 }?.close(promise: nil) }
}
