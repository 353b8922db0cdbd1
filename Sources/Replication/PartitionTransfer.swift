import RingstoreCore

/// The receiving side of one partition replica's copy to a node it moves to (issue 16):
/// for each source of a group in turn, bucket range by bucket range of the partition's hash tree, it
/// asks for the source's key digests, compares them with its own, fetches the objects of
/// the keys that differ, stores (merges) them, and paces itself by the bytes received
/// (the shell holds the node's transfer budget). Keys it already holds alike are not
/// fetched, so a second pass over the same source (the draining phase of a move) costs
/// digests only, plus what changed. Merging is idempotent: a copy that starts over
/// loses nothing. Sources come in groups, in order of preference (the outgoing owners,
/// then every other owner): when a source of a group keeps failing, the copy starts over
/// from the next group. Events in, actions out.
public struct PartitionTransfer: ProtocolMachine {
    public enum Event: Sendable, Equatable {
        /// The source's digests of the buckets asked, and this node's of the same buckets.
        case digests(theirs: [[UInt8]: UInt64], mine: [[UInt8]: UInt64])
        /// The source's objects of (a prefix of) the keys asked, and their size in bytes.
        case objects([TransferredObject], bytes: Int)
        /// The objects of the last `store` are durable here.
        case stored
        /// A request or the local store failed.
        case failed(String)
        /// A `pace` or `wait` is over.
        case resume
    }

    public enum Action: Sendable, Equatable {
        case fetchDigests(from: NodeID, buckets: [Int])
        case fetchObjects(from: NodeID, keys: [[UInt8]])
        /// Merge these objects into the local replica; `stored` once durable.
        case store([TransferredObject])
        /// `bytes` arrived: wait as the transfer budget says, then `resume`.
        case pace(bytes: Int)
        /// Back off after a failure, then `resume`.
        case wait(millis: UInt32)
        case finish(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        /// Every source was copied: `keys` objects (`bytes` of them) were fetched.
        case copied(keys: Int, bytes: Int)
        /// A source of the last group failed `attemptsMax` times in a row.
        case failed(String)
    }

    public let groups: [[NodeID]]
    public let bucketsPerRequest: Int
    public let keysPerRequest: Int
    public let attemptsMax: Int
    public private(set) var keys = 0
    public private(set) var bytes = 0
    public private(set) var outcome: Outcome?
    private var group = 0
    private var source = 0
    private var nextBucket = 0
    /// Keys whose objects differ from the source's and are not fetched yet.
    private var wanted: [[UInt8]] = []
    /// The request to repeat after a failure.
    private var lastRequest: Action?
    private var failures = 0
    /// What a `wait` repeats (nil: the step that failed was a store).
    private var retryRequest: Action?

    public var isFinished: Bool { outcome != nil }

    public init(
        sources groups: [[NodeID]], bucketsPerRequest: Int = 16, keysPerRequest: Int = 256, attemptsMax: Int = 5
    ) {
        precondition(bucketsPerRequest > 0 && keysPerRequest > 0 && attemptsMax > 0, "a transfer needs positive sizes")
        self.groups = groups.filter { !$0.isEmpty }
        self.bucketsPerRequest = bucketsPerRequest
        self.keysPerRequest = keysPerRequest
        self.attemptsMax = attemptsMax
    }

    public mutating func start() -> [Action] {
        guard !groups.isEmpty else { return finish(.failed("no replica to copy from")) }
        return requestNext()
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard outcome == nil else { return [] }
        switch event {
        case .digests(let theirs, let mine):
            guard case .fetchDigests(_, let buckets) = lastRequest else { return [] }
            failures = 0
            wanted = theirs.filter { mine[$0.key] != $0.value }.keys.sorted { $0.lexicographicallyPrecedes($1) }
            nextBucket = (buckets.last ?? nextBucket) + 1
            return requestNext()
        case .objects(let items, let received):
            guard case .fetchObjects(_, let asked) = lastRequest else { return [] }
            guard !items.isEmpty, items.count <= asked.count,
                zip(items, asked).allSatisfy({ $0.storageKey == $1 })
            else { return fail("\(current) sent objects other than those asked") }
            failures = 0
            wanted.removeFirst(items.count)
            let present = items.filter { $0.object != nil }
            keys += present.count
            bytes += received
            lastRequest = .pace(bytes: received)
            return present.isEmpty ? requestNext() : [.store(present)]
        case .stored:
            guard case .pace(let received) = lastRequest else { return [] }
            return [.pace(bytes: received)]
        case .resume:
            switch lastRequest {
            case .pace: return requestNext()
            case .wait: return retry()
            default: return []
            }
        case .failed(let reason):
            if case .wait? = lastRequest { return [] }  // nothing is outstanding during a back-off
            return fail(reason)
        }
    }

    /// The next request: objects still wanted, else the next buckets, else the next source.
    private mutating func requestNext() -> [Action] {
        let request: Action
        if !wanted.isEmpty {
            request = .fetchObjects(from: current, keys: Array(wanted.prefix(keysPerRequest)))
        } else if nextBucket < HashTree.bucketCount {
            let last = min(HashTree.bucketCount, nextBucket + bucketsPerRequest)
            request = .fetchDigests(from: current, buckets: Array(nextBucket..<last))
        } else if source + 1 < groups[group].count {
            source += 1
            nextBucket = 0
            return requestNext()
        } else {
            return finish(.copied(keys: keys, bytes: bytes))
        }
        lastRequest = request
        return [request]
    }

    /// The source asked now.
    private var current: NodeID { groups[group][source] }

    /// Counts a failure: after `attemptsMax` in a row the copy starts over from the next
    /// group of sources, or gives up after the last; else it backs off and repeats the
    /// request (objects stored are merged again harmlessly).
    private mutating func fail(_ reason: String) -> [Action] {
        failures += 1
        guard failures < attemptsMax else {
            let failed = "copying from \(current) failed \(failures) times: \(reason)"
            guard group + 1 < groups.count else { return finish(.failed(failed)) }
            group += 1
            source = 0
            nextBucket = 0
            wanted = []
            failures = 0
            return requestNext()
        }
        switch lastRequest {
        case .fetchDigests?, .fetchObjects?: retryRequest = lastRequest
        default: retryRequest = nil  // a store failed: `retry` fetches its buckets again
        }
        let backoff = UInt32(min(5_000, 200 << min(failures - 1, 5)))
        lastRequest = .wait(millis: backoff)
        return [.wait(millis: backoff)]
    }

    private mutating func retry() -> [Action] {
        guard let request = retryRequest else {
            // The failed step was a store: its keys are gone from `wanted`, so go back to
            // the digests of the buckets they came from (nothing stored is lost: merging is
            // idempotent).
            nextBucket = max(0, nextBucket - bucketsPerRequest)
            wanted = []
            return requestNext()
        }
        lastRequest = request
        return [request]
    }

    private mutating func finish(_ result: Outcome) -> [Action] {
        outcome = result
        return [.finish(result)]
    }
}
