import Dispatch
import Replication
import RingstoreCore
import Synchronization
import Testing

@testable import RingstoreNode

/// A quorum read's answer is decided on the second reply; the third reply, on another
/// thread, finishes the run. The answer must reach the client whichever thread gets
/// there first (it was lost when the finishing thread dropped the callback before the
/// deciding thread used it: ringstore-bench saw r=quorum reads never answered).
@Suite struct MachineRunTests {
    @Test func everyDecidedActionIsPerformedWhenRepliesRace() {
        let (a, b, c) = (NodeID("a"), NodeID("b"), NodeID("c"))
        let runs = 60_000
        let answered = Atomic(0)
        for _ in 0..<runs {
            let run = MachineRun(QuorumRead(replicas: [a, b, c], required: 2))
            let responses = Atomic(0)
            run.onAction = { action in
                if case .respond = action { responses.add(1, ordering: .relaxed) }
            }
            run.start()
            run.handle(.answered(a, nil))
            // b decides the answer, c finishes the run: race them.
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                run.handle(.answered(index == 0 ? b : c, nil))
            }
            answered.add(responses.load(ordering: .relaxed), ordering: .relaxed)
        }
        #expect(answered.load(ordering: .relaxed) == runs)
    }
}
