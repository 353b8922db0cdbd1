import LogStore
import RingstoreCore

/// Where a node keeps its bytes: a key's latest value, and durable writes that report
/// completion. The server uses a LogStore; the simulator a simulated disk that loses
/// unsynced writes when a node crashes.
public protocol ReplicaStorage: Sendable {
    /// The latest value of `key`, nil if it has none.
    func read(_ key: [UInt8]) throws(RingstoreError) -> [UInt8]?
    /// Stores `value` and calls `completion` once it is durable. Writes of one key
    /// issued in some order are stored in that order.
    func write(_ key: [UInt8], _ value: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void)
    /// Removes `key` and calls `completion` once the removal is durable; ordered with the
    /// key's writes like a write.
    func delete(_ key: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void)
    /// Every stored key starting with `prefix`.
    func keys(withPrefix prefix: [UInt8]) -> [[UInt8]]
}

/// A LogStore as a node's storage.
public struct LogStoreStorage: ReplicaStorage {
    public let store: LogStore

    public init(_ store: LogStore) { self.store = store }

    public func read(_ key: [UInt8]) throws(RingstoreError) -> [UInt8]? {
        do {
            return try store.get(key)?.value
        } catch {
            throw RingstoreError(.storage, "reading the key failed: \(error)")
        }
    }

    public func write(_ key: [UInt8], _ value: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        append(key, value, completion: completion)
    }

    public func delete(_ key: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        append(key, nil, completion: completion)
    }

    private func append(_ key: [UInt8], _ value: [UInt8]?, completion: @escaping @Sendable (RingstoreError?) -> Void) {
        store.append(key: key, value: value, metadata: []) { result in
            switch result {
            case .success: completion(nil)
            case .failure(let error):
                completion(RingstoreError(.storage, "the write could not be made durable: \(error)"))
            }
        }
    }

    public func keys(withPrefix prefix: [UInt8]) -> [[UInt8]] { store.keys(withPrefix: prefix) }
}
