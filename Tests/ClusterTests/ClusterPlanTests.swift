import Foundation
import RingstoreCore
import RingstoreServer
import Testing

/// Staged ring changes through the CLI against a real etcd: join, leave and replace
/// stage, `plan` prints the ring they would give with what moves against the least any
/// balanced claim needs, bad changes are refused with a reason, `unstage` forgets them.
@Suite(.serialized) struct ClusterPlanTests {
    @Test func changesStageAndThePlanShowsWhatWouldMove() async throws {
        let etcd = try EtcdProcess()
        _ = try await PartitionElectionTests.ready(etcd)
        let cluster = ["--etcd", etcd.endpoint, "--cluster", "plan"]
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try EtcdProcess.ringstore(["cluster"] + arguments + cluster)
        }
        #expect(try run(["init", "--nodes", "n1,n2,n3"]).status == 0)
        let nothing = try run(["plan"])
        #expect(nothing.status == 0 && nothing.output.contains("nothing staged"), "\(nothing.output)")

        #expect(try run(["join", "n4"]).status == 0)
        let join = try run(["plan"])
        // The default keyspace has N = 3: 192 replicas, n4 takes its 48, nothing else moves.
        #expect(join.output.contains("staged: join n4"), "\(join.output)")
        #expect(join.output.contains("n4          0 -> 48"), "\(join.output)")
        #expect(join.output.contains("partition replicas to move: 48 (the least any balanced claim needs: 48)"))

        // Refused with a reason: a member joining, a stranger leaving, a node staged twice.
        for (arguments, reason) in [
            (["join", "n2"], "member already"), (["leave", "n9"], "not a member"),
            (["replace", "n4", "n5"], "not a member"), (["join", "n4"], "staged change already"),
        ] {
            let refused = try run(arguments)
            #expect(refused.status == 1 && refused.output.contains(reason), "\(arguments): \(refused.output)")
        }
        #expect(try run(["leave", "n1"]).status == 0)
        #expect(try run(["replace", "n2", "n5"]).status == 0)
        let several = try run(["plan"])
        #expect(several.output.contains("staged: join n4; leave n1; replace n2 by n5"), "\(several.output)")
        #expect(several.output.contains("3 -> 3 nodes"), "\(several.output)")
        #expect(several.output.contains("n1          64 -> 0"), "\(several.output)")

        #expect(try run(["unstage"]).status == 0)
        #expect(try run(["plan"]).output.contains("nothing staged"))
        let missing = try EtcdProcess.ringstore(["cluster", "plan", "--etcd", etcd.endpoint, "--cluster", "other"])
        #expect(missing.status == 1 && missing.output.contains("has no ring"), "\(missing.output)")
    }
}
