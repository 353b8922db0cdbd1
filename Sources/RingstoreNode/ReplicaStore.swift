import RingstoreCore
import Synchronization

/// The objects of one node's keys over its storage, with read-modify-write that never
/// loses a concurrent update: each update reads the newest object (one still on its way
/// to disk included), applies a change, and queues the result behind it in one step.
final class ReplicaStore: Sendable {
    let storage: any ReplicaStorage
    /// Objects written but not yet durable, with how many writes of the key are in flight.
    private let inFlight = Mutex<[[UInt8]: (object: ReplicaObject, writes: Int)]>([:])
    /// Serializes updates of a key: one lock per stripe of the key hash.
    private let stripes: [Stripe]

    private final class Stripe: Sendable {
        let lock = Mutex(())
    }

    init(storage: any ReplicaStorage, stripeCount: Int = 64) {
        self.storage = storage
        stripes = (0..<stripeCount).map { _ in Stripe() }
    }

    /// The newest object of `key`, in flight or durable.
    func object(_ key: [UInt8]) throws(RingstoreError) -> ReplicaObject? {
        if let pending = inFlight.withLock({ $0[key]?.object }) { return pending }
        guard let bytes = try storage.read(key) else { return nil }
        guard let object = ReplicaObject(decoding: bytes) else {
            throw RingstoreError(.storage, "the stored object of the key is unreadable")
        }
        return object
    }

    /// Applies `change` to the newest object and stores what it returns; `durable` runs
    /// once the result is on disk. A change that throws stores nothing; one that returns
    /// the object unchanged stores nothing and reports durable at once.
    func update<Result>(
        _ key: [UInt8], change: (ReplicaObject?) throws(RingstoreError) -> (ReplicaObject, Result),
        durable: @escaping @Sendable (RingstoreError?) -> Void
    ) throws(RingstoreError) -> Result {
        let stripe = stripes[Int(StableHash.xxHash64(key) % UInt64(stripes.count))]
        let (result, unchanged) = try stripe.lock.withLock { _ throws(RingstoreError) -> (Result, Bool) in
            let current = try object(key)
            let (next, result) = try change(current)
            if next == current { return (result, true) }
            inFlight.withLock { pending in
                pending[key] = (next, (pending[key]?.writes ?? 0) + 1)
            }
            storage.write(key, next.encoded()) { [self] error in
                inFlight.withLock { pending in
                    guard let entry = pending[key] else { return }
                    if entry.writes <= 1 { pending[key] = nil } else { pending[key]!.writes -= 1 }
                }
                durable(error)
            }
            return (result, false)
        }
        if unchanged { durable(nil) }
        return result
    }
}
