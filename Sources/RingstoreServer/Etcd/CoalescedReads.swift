import Synchronization

/// Shares linearizable reads among concurrent callers, per key: a caller waits for the
/// next read that starts after it arrived (never one already under way, whose answer
/// could predate its request), and every caller waiting when that read starts gets its
/// answer. Linearizable reads of many partitions then cost one etcd range per node and
/// keyspace at a time instead of one per partition.
final class CoalescedReads<Value: Sendable>: Sendable {
    private struct Pending {
        var inFlight = false
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

    /// The waiting callers to serve now, if no read of `key` is under way.
    private func takeBatch(_ key: String, _ pending: inout [String: Pending]) -> [CheckedContinuation<
        Result<Value, any Error>, Never
    >]? {
        guard var entry = pending[key], !entry.inFlight, !entry.waiting.isEmpty else { return nil }
        let batch = entry.waiting
        entry.waiting = []
        entry.inFlight = true
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
                pending[key]?.inFlight = false
                return takeBatch(key, &pending)
            }
            if let next { run(key, next, fetch) }
        }
    }
}
