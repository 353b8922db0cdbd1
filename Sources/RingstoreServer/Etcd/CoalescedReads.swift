import Synchronization

/// Shares linearizable reads among concurrent callers, per key: a caller waits for the
/// next read that starts after it arrived (never one already under way, whose answer
/// could predate its request), and every caller waiting when that read starts gets its
/// answer. Up to `concurrency` reads of a key run at once, so a caller rarely waits for
/// one under way to finish first. Linearizable reads of many partitions then cost a few
/// etcd ranges per node and keyspace at a time instead of one per partition.
final class CoalescedReads<Value: Sendable>: Sendable {
    let concurrency: Int

    init(concurrency: Int = 4) { self.concurrency = concurrency }

    private struct Pending {
        var inFlight = 0
        var waiting: [CheckedContinuation<Result<Value, any Error>, Never>] = []
    }

    private let pending = Mutex<[String: Pending]>([:])

    /// The answer of a `fetch` started after this call; `fetch` must be the same for a key.
    func read(_ key: String, fetch: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let result = await withCheckedContinuation { continuation in
            let start = pending.withLock { pending in
                pending[key, default: Pending()].waiting.append(continuation)
                return takeBatch(key, &pending)
            }
            if let start { run(key, start, fetch) }
        }
        return try result.get()
    }

    /// The waiting callers to serve now, if fewer than `concurrency` reads of `key` are under way.
    private func takeBatch(_ key: String, _ pending: inout [String: Pending]) -> [CheckedContinuation<
        Result<Value, any Error>, Never
    >]? {
        guard var entry = pending[key], entry.inFlight < concurrency, !entry.waiting.isEmpty else { return nil }
        let batch = entry.waiting
        entry.waiting = []
        entry.inFlight += 1
        pending[key] = entry
        return batch
    }

    private func run(
        _ key: String, _ batch: [CheckedContinuation<Result<Value, any Error>, Never>],
        _ fetch: @escaping @Sendable () async throws -> Value
    ) {
        Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await fetch())
            } catch {
                result = .failure(error)
            }
            for continuation in batch { continuation.resume(returning: result) }
            let next = pending.withLock { pending in
                pending[key]?.inFlight -= 1
                return takeBatch(key, &pending)
            }
            if let next { run(key, next, fetch) }
        }
    }
}
