import Simulation
import Testing

/// Leader mode under the simulator: one partition, three replicas, elections through a
/// simulated etcd, one fault at a time (a paused leader past its lease, crashes, a node
/// cut from its peers or from etcd). A failing seed replays with
/// `swift run ringstore-sim --mode leader --seed N --verbose`.
@Suite struct LeaderSimulationTests {
    @Test func ackAllSurvivesLogsAgreeAndHistoriesAreLinearizable() async throws {
        var totals = LeaderSimulation.Report(seed: 0)
        var failed: [String] = []
        for seed in 1...200 as ClosedRange<UInt64> {
            let report = try await HeavyWork.run { LeaderSimulation(options: .init(seed: seed)).run() }
            if !report.passed { failed.append("seed \(seed): \(report.violations.prefix(3)) after \(report.faults)") }
            totals.elections += report.elections
            totals.acknowledgedAll += report.acknowledgedAll
            totals.acknowledgedLeader += report.acknowledgedLeader
            totals.linearizableReads += report.linearizableReads
            totals.lostLeaderAcks += report.lostLeaderAcks
            totals.conditionalWrites += report.conditionalWrites
            totals.failedConditions += report.failedConditions
        }
        #expect(failed.isEmpty, "\(failed.prefix(5))")
        // The runs did what they are for: failovers, and writes and reads acknowledged across them.
        #expect(totals.elections > 400)
        #expect(totals.acknowledgedAll > 10_000 && totals.linearizableReads > 10_000)
        #expect(totals.conditionalWrites > 1000 && totals.failedConditions > 1000)
        print(
            "leader simulation: 200 seeds, \(totals.elections) elections, \(totals.acknowledgedAll) ack=all writes, \(totals.linearizableReads) linearizable reads, \(totals.conditionalWrites) conditional writes and \(totals.failedConditions) refused, \(totals.acknowledgedLeader) ack=leader writes of which \(totals.lostLeaderAcks) lost"
        )
    }

    @Test func aLeaderThatIgnoresItsLeaseIsCaughtAcknowledgingInAnOldEpoch() async throws {
        var caught = 0
        for seed in 1...60 as ClosedRange<UInt64> {
            var options = LeaderSimulation.Options(seed: seed)
            options.ignoreLease = true
            let report = try await HeavyWork.run { [options] in LeaderSimulation(options: options).run() }
            if report.violations.contains(where: { $0.contains("after epoch") }) { caught += 1 }
        }
        #expect(caught > 0)
    }
}
