import RingstoreCore

/// One anti-entropy exchange between this replica of a partition and a peer replica
/// (DESIGN section 4): compare the hash trees' leaves, then the per-key digests of the
/// buckets that differ (`bucketsPerRequest` buckets per round trip, so each side scans
/// its keys once per batch), and repair every key whose digests differ (the shell reads the peer's object, merges it into its own and sends the
/// merge back, so both end with the join). Only differing buckets and keys cross the
/// network. Events in, actions out; the shell paces the repairs.
public struct AntiEntropyExchange: ProtocolMachine {
    public enum Event: Sendable, Equatable {
        /// Both trees, taken when the peer's arrived.
        case leaves(mine: HashTree, theirs: HashTree)
        /// Both sides' key digests of a batch of buckets (storage keys to object digests).
        case buckets([Int], mine: [[UInt8]: UInt64], theirs: [[UInt8]: UInt64])
        /// One key's repair ended.
        case repaired([UInt8], succeeded: Bool)
        /// The peer could not be asked (link failure, error, deadline).
        case failed(String)
    }

    public enum Action: Sendable, Equatable {
        case fetchLeaves
        case fetchBuckets([Int])
        case repair([UInt8])
        case finish(Outcome)
    }

    /// What the exchange found and did. `converged` when every difference it found was
    /// repaired (or there was none): the two replicas held the same objects as of the
    /// exchange's start.
    public struct Outcome: Sendable, Equatable {
        public var differingBuckets: Int
        public var repairedKeys: Int
        public var failedRepairs: Int
        public var error: String?
        public var converged: Bool { error == nil && failedRepairs == 0 }

        public init(differingBuckets: Int, repairedKeys: Int, failedRepairs: Int, error: String? = nil) {
            self.differingBuckets = differingBuckets
            self.repairedKeys = repairedKeys
            self.failedRepairs = failedRepairs
            self.error = error
        }
    }

    public let bucketsPerRequest: Int
    private var buckets: [Int] = []
    private var batch: [Int] = []
    private var pendingRepairs: Set<[UInt8]> = []
    private var outcome = Outcome(differingBuckets: 0, repairedKeys: 0, failedRepairs: 0)
    public private(set) var isFinished = false

    public init(bucketsPerRequest: Int = 32) {
        precondition(bucketsPerRequest > 0, "a batch needs a bucket")
        self.bucketsPerRequest = bucketsPerRequest
    }

    public mutating func start() -> [Action] { [.fetchLeaves] }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !isFinished else { return [] }
        switch event {
        case .leaves(let mine, let theirs):
            buckets = mine.differingBuckets(from: theirs)
            outcome.differingBuckets = buckets.count
            return nextBucket()
        case .buckets(let answered, let mine, let theirs):
            guard answered == batch, !batch.isEmpty, pendingRepairs.isEmpty else { return [] }
            batch = []
            let keys = Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }
            pendingRepairs = keys
            if keys.isEmpty { return nextBucket() }
            return keys.sorted { $0.lexicographicallyPrecedes($1) }.map { .repair($0) }
        case .repaired(let key, let succeeded):
            guard pendingRepairs.remove(key) != nil else { return [] }
            if succeeded { outcome.repairedKeys += 1 } else { outcome.failedRepairs += 1 }
            return pendingRepairs.isEmpty ? nextBucket() : []
        case .failed(let reason):
            outcome.error = reason
            return finish()
        }
    }

    private mutating func nextBucket() -> [Action] {
        guard !buckets.isEmpty else { return finish() }
        batch = Array(buckets.prefix(bucketsPerRequest))
        buckets.removeFirst(batch.count)
        return [.fetchBuckets(batch)]
    }

    private mutating func finish() -> [Action] {
        isFinished = true
        return [.finish(outcome)]
    }
}
