import RingstoreCore
import Synchronization

/// The objects of one node's keys over its storage, with read-modify-write that never
/// loses a concurrent update: each update reads the newest object (one still on its way
/// to disk included), applies a change, and queues the result behind it in one step.
final class ReplicaStore: Sendable {
    let storage: any ReplicaStorage
    /// Objects written but not yet durable: the newest, how many writes of the key are in
    /// flight, and who waits for all of them (updates that changed nothing).
    private let inFlight = Mutex<[[UInt8]: InFlight]>([:])

    private struct InFlight {
        /// nil: the newest write in flight removes the key.
        var object: ReplicaObject?
        var writes: Int
        var waiters: [@Sendable (RingstoreError?) -> Void] = []
    }
    /// Serializes updates of a key: one lock per stripe of the key hash.
    private let stripes: [Stripe]

    private final class Stripe: Sendable {
        let lock = Mutex(())
    }

    /// Told of every change as it is queued (under the key's stripe, so one key's changes
    /// arrive in order): the key, the object after it and its encoding (nil: removed).
    typealias ChangeObserver = @Sendable ([UInt8], ReplicaObject?, [UInt8]?) -> Void
    private let onChange: ChangeObserver?

    init(storage: any ReplicaStorage, stripeCount: Int = 64, onChange: ChangeObserver? = nil) {
        self.storage = storage
        self.onChange = onChange
        stripes = (0..<stripeCount).map { _ in Stripe() }
    }

    /// The newest object of `key`, in flight or durable.
    func object(_ key: [UInt8]) throws(RingstoreError) -> ReplicaObject? {
        if let pending = inFlight.withLock({ $0[key].map(\.object) }) { return pending }
        guard let bytes = try storage.read(key) else { return nil }
        guard let object = ReplicaObject(decoding: bytes) else {
            throw RingstoreError(.storage, "the stored object of the key is unreadable")
        }
        return object
    }

    /// Applies `change` to the newest object and stores what it returns; `durable` runs
    /// once the result is on disk. A change that throws stores nothing. One that returns
    /// the object unchanged stores nothing: `durable` runs once the writes of the key in
    /// flight are on disk (at once when there are none), so a duplicate of a replication
    /// message is never acknowledged before the original is durable.
    func update<Result>(
        _ key: [UInt8], change: (ReplicaObject?) throws(RingstoreError) -> (ReplicaObject, Result),
        durable: @escaping @Sendable (RingstoreError?) -> Void
    ) throws(RingstoreError) -> Result {
        let stripe = stripes[Int(StableHash.xxHash64(key) % UInt64(stripes.count))]
        let (result, durableNow) = try stripe.lock.withLock { _ throws(RingstoreError) -> (Result, Bool) in
            let current = try object(key)
            let (next, result) = try change(current)
            if next == current {
                let waiting = inFlight.withLock { pending in
                    guard pending[key] != nil else { return false }
                    pending[key]!.waiters.append(durable)
                    return true
                }
                return (result, !waiting)
            }
            store(key, from: current, to: next, durable: durable)
            return (result, false)
        }
        if durableNow { durable(nil) }
        return result
    }

    /// Removes `key` if its newest object is still `expected` and nothing of it is in
    /// flight (a hint that was replayed and not updated since); `durable` runs once the
    /// removal is on disk. Returns whether it removed.
    func remove(_ key: [UInt8], ifStill expected: ReplicaObject, durable: @escaping @Sendable (RingstoreError?) -> Void)
        -> Bool
    {
        let stripe = stripes[Int(StableHash.xxHash64(key) % UInt64(stripes.count))]
        return stripe.lock.withLock { _ in
            guard inFlight.withLock({ $0[key] == nil }), (try? object(key)) == expected else { return false }
            store(key, from: expected, to: nil, durable: durable)
            return true
        }
    }

    /// Queues `next` (nil: a removal) behind the key's writes in flight; the caller holds
    /// the key's stripe.
    private func store(
        _ key: [UInt8], from current: ReplicaObject?, to next: ReplicaObject?,
        durable: @escaping @Sendable (RingstoreError?) -> Void
    ) {
        let bytes = next?.encoded()
        onChange?(key, next, bytes)
        inFlight.withLock { pending in
            if pending[key] == nil {
                pending[key] = InFlight(object: next, writes: 1)
            } else {
                pending[key]!.object = next
                pending[key]!.writes += 1
            }
        }
        let completion: @Sendable (RingstoreError?) -> Void = { [self] error in
            let waiters = inFlight.withLock { pending -> [@Sendable (RingstoreError?) -> Void] in
                guard var entry = pending[key] else { return [] }
                entry.writes -= 1
                if entry.writes == 0 {
                    // The last write of the key in flight: everyone waiting is answered.
                    pending[key] = nil
                    return entry.waiters
                }
                // A failed write fails those waiting too; otherwise they wait for the last.
                let answered = error == nil ? [] : entry.waiters
                if error != nil { entry.waiters = [] }
                pending[key] = entry
                return answered
            }
            durable(error)
            for waiter in waiters { waiter(error) }
        }
        if let bytes {
            storage.write(key, bytes, completion: completion)
        } else {
            storage.delete(key, completion: completion)
        }
    }
}
