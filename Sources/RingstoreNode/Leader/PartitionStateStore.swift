import Replication
import RingstoreCore

/// The applied state of one leader-mode partition replica, in the node's store: each
/// key's current value and the position that wrote it under
/// `0x02 'S' keyspace 0x00 partition(u32 BE) key`, and the mark saying how far the log is
/// applied (with the epoch history, and whether a snapshot is half-installed) under
/// `0x02 'M' keyspace 0x00 partition(u32 BE)` (docs/log-format.md). A batch of applied
/// entries is stored before the mark that covers it, and the store makes writes durable
/// in the order they are issued, so a mark on disk never claims state that is not.
public final class PartitionStateStore: PartitionStateReader {
    public let keyspace: KeyspaceName
    public let partition: Int
    private let storage: any ReplicaStorage
    /// The mark found when the store opened (an empty one after a half-install was wiped).
    public let opened: PartitionStateMark

    /// Opens the partition's state. A snapshot install a crash interrupted is undone: its
    /// state and the log are removed and the replica starts empty.
    public init(storage: any ReplicaStorage, keyspace: KeyspaceName, partition: Int) throws(RingstoreError) {
        self.storage = storage
        self.keyspace = keyspace
        self.partition = partition
        let markKey = Self.markKey(keyspace, partition)
        var mark =
            try storage.read(markKey).map { bytes throws(RingstoreError) in
                try PartitionStateMark.decode(bytes)
            } ?? .empty
        if mark.installing {
            for key in storage.keys(withPrefix: Self.statePrefix(keyspace, partition)) {
                storage.delete(key) { _ in }
            }
            for key in storage.keys(withPrefix: PartitionLog.prefix(keyspace, partition)) {
                storage.delete(key) { _ in }
            }
            mark = .empty
            storage.write(markKey, mark.encoded()) { _ in }
        }
        opened = mark
    }

    public func item(_ key: [UInt8]) throws(RingstoreError) -> PartitionStateItem? {
        guard let bytes = try storage.read(Self.stateKey(keyspace, partition, key)) else { return nil }
        return try PartitionStateItem.decode(key: key, bytes)
    }

    public func keys() throws(RingstoreError) -> [[UInt8]] {
        let prefixCount = Self.statePrefix(keyspace, partition).count
        return storage.keys(withPrefix: Self.statePrefix(keyspace, partition)).map { Array($0[prefixCount...]) }
            .sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Applies committed entries (a value sets its key, a delete removes it), then stores
    /// `mark`; `completion` runs once all of it is durable.
    public func apply(
        _ entries: [LeaderEntry], mark: PartitionStateMark, completion: @escaping @Sendable (RingstoreError?) -> Void
    ) {
        let writes = entries.filter { !$0.isEpochStart }
        let batch = DurableBatch(count: writes.count + 1, completion: completion)
        for entry in writes {
            let key = Self.stateKey(keyspace, partition, entry.key)
            if let value = entry.value {
                let item = PartitionStateItem(key: entry.key, position: entry.position, value: value)
                storage.write(key, item.encodedValue(), completion: batch.done)
            } else {
                storage.delete(key, completion: batch.done)
            }
        }
        storage.write(Self.markKey(keyspace, partition), mark.encoded(), completion: batch.done)
    }

    /// Stores snapshot items; `completion` runs once they are durable.
    public func store(_ items: [PartitionStateItem], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        let batch = DurableBatch(count: items.count, completion: completion)
        for item in items {
            storage.write(Self.stateKey(keyspace, partition, item.key), item.encodedValue(), completion: batch.done)
        }
    }

    /// Stores `mark` (half-installed), then removes every state key and every entry of
    /// `log`: what is stored after it lands on an empty replica, and a crash before the
    /// install completes leaves one to start over from.
    public func wipe(mark: PartitionStateMark, log: PartitionLog) {
        storage.write(Self.markKey(keyspace, partition), mark.encoded()) { _ in }
        log.wipe()
        for key in storage.keys(withPrefix: Self.statePrefix(keyspace, partition)) {
            storage.delete(key) { _ in }
        }
    }

    /// Stores `mark`; `completion` runs once it is durable.
    public func store(mark: PartitionStateMark, completion: @escaping @Sendable (RingstoreError?) -> Void) {
        storage.write(Self.markKey(keyspace, partition), mark.encoded(), completion: completion)
    }

    static func statePrefix(_ keyspace: KeyspaceName, _ partition: Int) -> [UInt8] {
        PartitionLog.prefix(keyspace, partition, kind: UInt8(ascii: "S"))
    }

    static func stateKey(_ keyspace: KeyspaceName, _ partition: Int, _ key: [UInt8]) -> [UInt8] {
        statePrefix(keyspace, partition) + key
    }

    static func markKey(_ keyspace: KeyspaceName, _ partition: Int) -> [UInt8] {
        PartitionLog.prefix(keyspace, partition, kind: UInt8(ascii: "M"))
    }
}
