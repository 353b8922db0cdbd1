import RingstoreCore
import Simulation
import Testing

/// Hundreds of seeded runs of 3- and 5-node clusters under partitions, one-way cuts,
/// message loss and duplication, and crashes that lose unsynced writes, with strict and
/// sloppy quorums, and with nodes joining, leaving and replacing members (a replaced one
/// dead for good in some strict runs) mid-run. A failure names its seed and the command
/// that replays it.
@Suite struct LeaderlessSimulationTests {
    static let cases:
        [(nodes: Int, policy: ConflictPolicy, sloppy: Bool, ringChanges: Bool, seeds: ClosedRange<UInt64>)] = [
            (3, .vv, false, false, 1...150), (5, .vv, false, false, 1001...1050), (3, .lww, false, false, 2001...2100),
            (5, .lww, false, false, 3001...3030), (5, .vv, true, false, 4001...4060),
            (5, .lww, true, false, 5001...5040),
            (3, .vv, false, true, 6001...6040), (3, .lww, false, true, 7001...7030), (5, .vv, true, true, 8001...8020),
        ]

    @Test(arguments: 0..<cases.count) func noAcknowledgedWriteIsLostAndReplicasConverge(index: Int) async throws {
        let (nodes, policy, sloppy, ringChanges, seeds) = Self.cases[index]
        var acknowledged = 0
        var hinted = 0
        var failed = 0
        var changes = 0
        for seed in seeds {
            var options = ClusterSimulation.Options(
                nodeCount: nodes, policy: policy, sloppy: sloppy, ringChanges: ringChanges)
            // Writes acknowledged by one replica: a partition move that loses the only
            // counted copy shows (with quorums, another owner keeps it).
            if ringChanges && policy == .lww { options.writeLevel = .one }
            let simulation = try await HeavyWork.run { [options] in
                let simulation = try ClusterSimulation(seed: seed, options: options)
                simulation.run()
                return simulation
            }
            let problems = simulation.check()
            #expect(problems.isEmpty, "seed \(seed) failed: \(problems); replay: \(simulation.replayCommand)")
            acknowledged += simulation.acknowledged.count
            failed += simulation.failedWrites
            hinted += simulation.hintedWrites
            changes += simulation.ringChanges.count
        }
        #expect(ringChanges == (changes >= seeds.count / 2), "ring changes committed: \(changes)")
        #expect(sloppy == (hinted > 0), "sloppy runs must use fallbacks, strict ones never: \(hinted) hinted")
        // The faults must bite and the cluster must still work: both kinds of outcome occur.
        #expect(acknowledged > seeds.count * 20, "too few writes were acknowledged: \(acknowledged)")
        #expect(failed > 0 || ringChanges && policy == .lww, "no write ever failed: the faults did nothing")
    }
}
