import RingstoreCore
import Synchronization

/// Storage held in memory whose writes are "durable" at once: nothing survives the
/// process. For tools and tests that measure or exercise what sits above storage (the
/// peer transport bench, transport tests); a node that keeps data uses a LogStore.
public final class InMemoryStorage: ReplicaStorage, Sendable {
    private let values = Mutex<[[UInt8]: [UInt8]]>([:])

    public init() {}

    public func read(_ key: [UInt8]) throws(RingstoreError) -> [UInt8]? { values.withLock { $0[key] } }

    public func write(_ key: [UInt8], _ value: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        values.withLock { $0[key] = value }
        completion(nil)
    }

    public func delete(_ key: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        values.withLock { $0[key] = nil }
        completion(nil)
    }

    public func keys(withPrefix prefix: [UInt8]) -> [[UInt8]] {
        values.withLock { $0.keys.filter { $0.starts(with: prefix) } }
    }
}
