import ArgumentParser
import RingstoreCore
import Simulation

/// Runs simulated clusters from seeds and checks them; a failing seed replays exactly.
@main
struct RingstoreSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringstore-sim", abstract: "Run or replay a simulated leaderless cluster from a seed.")

    @Option(help: "The first seed.")
    var seed: UInt64 = 1

    @Option(help: "How many consecutive seeds to run.")
    var runs: Int = 1

    @Option(help: "Nodes in the cluster.")
    var nodes: Int = 3

    @Option(help: "Conflict policy: vv or lww.")
    var policy: String = "vv"

    @Flag(help: "Let fallbacks stand in for unreachable owners (sloppy quorum, hinted handoff).")
    var sloppy = false

    @Flag(help: "Leaderless: nodes join, leave and replace members during the run (partitions move with their data).")
    var ringChanges = false

    @Option(help: "Leaderless: the level of every write (one, quorum, all or a number).")
    var writeLevel: String = "quorum"

    @Option(help: "Leaderless: the level of every read.")
    var readLevel: String = "quorum"

    @Flag(help: "Leaderless: run without anti-entropy (replicas converge through read repair only).")
    var noAntiEntropy = false

    @Flag(help: "Print the fault log of each run.")
    var verbose = false

    @Option(help: "leaderless, or leader (one partition in leader mode: elections, ISR, truncation).")
    var mode: String = "leaderless"

    @Flag(help: "Leader mode: leaders acknowledge without checking their lease (shows what fencing guards).")
    var ignoreLease = false

    @Flag(help: "Leader mode: every linearizable read asks etcd (no lease reads).")
    var noLeaseReads = false

    @Option(
        help:
            "Leader mode: each node's clock runs at a rate from 1-D to 1+D of etcd's; lease reads are safe below 0.1 (the lease margin)."
    )
    var clockDrift: Double = 0

    func run() throws {
        if mode == "leader" {
            guard (0..<1).contains(clockDrift) else { throw ValidationError("--clock-drift is from 0 to below 1") }
            return try runLeader()
        }
        guard mode == "leaderless" else { throw ValidationError("--mode is leaderless or leader") }
        guard let conflict = ConflictPolicy(rawValue: policy) else { throw ValidationError("--policy is vv or lww") }
        guard (3...16).contains(nodes) else { throw ValidationError("--nodes is 3 to 16") }
        var failed = 0
        for seed in seed..<(seed + UInt64(max(1, runs))) {
            var options = ClusterSimulation.Options(
                nodeCount: nodes, policy: conflict, sloppy: sloppy, ringChanges: ringChanges)
            do {
                options.writeLevel = try ConsistencyLevel(parsing: writeLevel)
                options.readLevel = try ConsistencyLevel(parsing: readLevel)
                options.antiEntropy = !noAntiEntropy
            } catch {
                throw ValidationError("--write-level and --read-level are one, quorum, all or a number")
            }
            let simulation = try ClusterSimulation(seed: seed, options: options)
            simulation.run()
            let problems = simulation.check()
            if verbose { for line in simulation.log { print("  \(line)") } }
            print(
                "seed \(seed): \(simulation.acknowledged.count) acknowledged (\(simulation.hintedWrites) hinted), \(simulation.failedWrites) failed writes, \(simulation.reads) reads\(simulation.ringChanges.isEmpty ? "" : ", ring changes: " + simulation.ringChanges.joined(separator: "; ")): \(problems.isEmpty ? "ok" : "FAILED")"
            )
            for problem in problems { print("  \(problem)") }
            if !problems.isEmpty { failed += 1 }
        }
        if failed > 0 { throw ExitCode.failure }
    }

    func runLeader() throws {
        var failed = 0
        for seed in seed..<(seed + UInt64(max(1, runs))) {
            var options = LeaderSimulation.Options(seed: seed)
            options.replicas = nodes
            options.ignoreLease = ignoreLease
            options.leaseReads = !noLeaseReads
            options.clockDrift = clockDrift
            let report = LeaderSimulation(options: options).run()
            if verbose { for line in report.trace { print("  \(line)") } }
            print(
                "seed \(seed): \(report.elections) elections, \(report.acknowledgedAll) ack=all, \(report.acknowledgedLeader) ack=leader (\(report.lostLeaderAcks) lost), \(report.linearizableReads) linearizable reads, \(report.conditionalWrites) conditional writes (\(report.failedConditions) refused with 412), \(report.followerReads) follower reads (\(report.readsRefusedInstalling) refused mid-snapshot), \(report.snapshotsInstalled) snapshots installed (\(report.crashesMidSnapshot) crashed mid-install): \(report.passed ? "ok" : "FAILED")"
            )
            for violation in report.violations { print("  \(violation)") }
            if !report.passed { failed += 1 }
        }
        if failed > 0 { throw ExitCode.failure }
    }
}
