import Replication
import RingstoreCore
import Synchronization

/// The replication log of one leader-mode partition replica, kept in the node's store
/// as one record per entry under `0x02 'L' keyspace 0x00 partition(u32 BE) sequence(u64 BE)`
/// (the 0x02 prefix keeps it apart from data keys, like the 0x01 catalog). Appends
/// report durability in sequence order; a truncation removes every entry after a
/// sequence. The epoch history is rebuilt from the entries when the log opens.
public final class PartitionLog: LeaderLogReader {
    public let keyspace: KeyspaceName
    public let partition: Int
    private let storage: any ReplicaStorage
    private let state: Mutex<State>

    private struct State {
        var history = EpochHistory()
        /// The last sequence appended (issued to storage).
        var last: UInt64 = 0
        /// The last sequence durable, every one before it durable too.
        var durable: UInt64 = 0
        /// Sequences durable out of order, waiting for the ones before them.
        var durableAhead: Set<UInt64> = []
    }

    /// Opens the partition's log from what `storage` holds.
    public init(storage: any ReplicaStorage, keyspace: KeyspaceName, partition: Int) throws(RingstoreError) {
        self.storage = storage
        self.keyspace = keyspace
        self.partition = partition
        var state = State()
        let prefix = Self.prefix(keyspace, partition)
        let sequences = storage.keys(withPrefix: prefix).compactMap { Self.sequence(of: $0, prefixCount: prefix.count) }
            .sorted()
        for sequence in sequences {
            guard sequence == state.last + 1 else {
                throw RingstoreError(
                    .storage, "partition \(partition) of \(keyspace): log entry \(sequence) follows \(state.last)")
            }
            guard let bytes = try storage.read(Self.key(keyspace, partition, sequence)) else { continue }
            let entry = try LeaderEntry.decode(bytes, sequence: sequence)
            state.history.begin(entry.position.epoch, at: sequence)
            state.last = sequence
        }
        state.durable = state.last
        self.state = Mutex(state)
    }

    public var history: EpochHistory { state.withLock { $0.history } }
    /// The last durable sequence.
    public var durable: UInt64 { state.withLock { $0.durable } }
    /// The last sequence appended, durable or not yet.
    public var last: UInt64 { state.withLock { $0.last } }

    /// Appends entries that must follow the log's end; `completion` gets the sequence
    /// through which the log is durable each time it grows, or an error.
    public func append(
        _ entries: [LeaderEntry], completion: @escaping @Sendable (Result<UInt64, RingstoreError>) -> Void
    ) {
        guard !entries.isEmpty else { return }
        state.withLock { state in
            precondition(
                entries.first!.position.sequence == state.last + 1,
                "appending \(entries.first!.position) after \(state.last) in \(keyspace)/\(partition)")
            for entry in entries {
                state.history.begin(entry.position.epoch, at: entry.position.sequence)
                state.last = entry.position.sequence
            }
        }
        for entry in entries {
            let sequence = entry.position.sequence
            storage.write(Self.key(keyspace, partition, sequence), entry.encoded()) { [self] error in
                if let error { return completion(.failure(error)) }
                let through: UInt64? = state.withLock { state in
                    state.durableAhead.insert(sequence)
                    let before = state.durable
                    while state.durableAhead.remove(state.durable + 1) != nil { state.durable += 1 }
                    return state.durable > before ? state.durable : nil
                }
                if let through { completion(.success(through)) }
            }
        }
    }

    /// Entries `from...through`, at most `maxBytes` of them beyond the first.
    public func read(from: UInt64, through: UInt64, maxBytes: Int = 1 << 20) throws(RingstoreError) -> [LeaderEntry] {
        var entries: [LeaderEntry] = []
        var bytes = 0
        var sequence = from
        while sequence <= through, entries.isEmpty || bytes < maxBytes {
            guard let record = try storage.read(Self.key(keyspace, partition, sequence)) else {
                throw RingstoreError(
                    .storage, "partition \(partition) of \(keyspace): log entry \(sequence) is missing")
            }
            entries.append(try LeaderEntry.decode(record, sequence: sequence))
            bytes += record.count
            sequence += 1
        }
        return entries
    }

    public func entries(from: UInt64, through: UInt64, bytesMax: Int) throws(RingstoreError) -> [LeaderEntry] {
        try read(from: from, through: through, maxBytes: bytesMax)
    }

    /// Removes every entry after `sequence`; `completion` runs once the removals are durable.
    public func truncate(after sequence: UInt64, completion: @escaping @Sendable (RingstoreError?) -> Void) {
        let removed: ClosedRange<UInt64>? = state.withLock { state in
            guard state.last > sequence else { return nil }
            let range = (sequence + 1)...state.last
            state.last = sequence
            state.durable = min(state.durable, sequence)
            state.durableAhead = state.durableAhead.filter { $0 <= sequence }
            state.history.truncate(after: sequence)
            return range
        }
        guard let removed else { return completion(nil) }
        let remaining = Mutex((count: removed.count, error: RingstoreError?.none))
        for gone in removed {
            storage.delete(Self.key(keyspace, partition, gone)) { error in
                let finished = remaining.withLock { state -> (Bool, RingstoreError?) in
                    state.count -= 1
                    if state.error == nil { state.error = error }
                    return (state.count == 0, state.error)
                }
                if finished.0 { completion(finished.1) }
            }
        }
    }

    static func prefix(_ keyspace: KeyspaceName, _ partition: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x02, UInt8(ascii: "L")]
        bytes.append(contentsOf: keyspace.name.utf8)
        bytes.append(0)
        withUnsafeBytes(of: UInt32(partition).bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func key(_ keyspace: KeyspaceName, _ partition: Int, _ sequence: UInt64) -> [UInt8] {
        var bytes = prefix(keyspace, partition)
        withUnsafeBytes(of: sequence.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func sequence(of key: [UInt8], prefixCount: Int) -> UInt64? {
        guard key.count == prefixCount + 8 else { return nil }
        return key[prefixCount...].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
