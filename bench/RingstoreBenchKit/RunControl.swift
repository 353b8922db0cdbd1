import Synchronization

/// What a phase's connections share: whether to stop, how many operations were started
/// (for an operation budget), and the record numbers inserts take.
final class RunControl: Sendable {
    enum Phase: Sendable {
        /// Insert records `0..<recordCount`, each once.
        case load
        /// The workload's mix until the duration or the operation budget runs out.
        case run
    }

    let phase: Phase
    let workload: Workload
    let distribution: RequestDistribution
    let recordCount: Int
    let operationLimit: Int?
    let timeoutNanos: UInt64
    private let stopFlag = Atomic<Bool>(false)
    private let startedOperations = Atomic<Int>(0)
    /// The next record number an insert takes.
    private let nextRecord: Atomic<Int>
    /// Records known to be there: `recordCount` plus acknowledged inserts.
    private let presentRecords: Atomic<Int>

    init(
        phase: Phase, workload: Workload, distribution: RequestDistribution, recordCount: Int,
        operationLimit: Int?, timeoutNanos: UInt64
    ) {
        self.phase = phase
        self.workload = workload
        self.distribution = distribution
        self.recordCount = recordCount
        self.operationLimit = phase == .load ? recordCount : operationLimit
        self.timeoutNanos = timeoutNanos
        nextRecord = Atomic(phase == .load ? 0 : recordCount)
        presentRecords = Atomic(recordCount)
    }

    var stopped: Bool { stopFlag.load(ordering: .relaxed) }

    func stop() { stopFlag.store(true, ordering: .relaxed) }

    /// Claims the next operation; false (and the phase stops) once the budget is spent.
    func claimOperation() -> Bool {
        guard !stopped else { return false }
        guard let operationLimit else { return true }
        let claimed = startedOperations.wrappingAdd(1, ordering: .relaxed).newValue
        if claimed > operationLimit {
            stop()
            return false
        }
        return true
    }

    func takeRecordNumber() -> Int { nextRecord.wrappingAdd(1, ordering: .relaxed).oldValue }

    func insertAcknowledged() { presentRecords.wrappingAdd(1, ordering: .relaxed) }

    var recordsPresent: Int { presentRecords.load(ordering: .relaxed) }
}
