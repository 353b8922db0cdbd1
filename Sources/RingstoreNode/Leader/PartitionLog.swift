import Replication
import RingstoreCore
import Synchronization

/// The replication log of one leader-mode partition replica, kept in the node's store
/// as one record per entry under `0x02 'L' keyspace 0x00 partition(u32 BE) sequence(u64 BE)`
/// (the 0x02 prefix keeps it apart from data keys, like the 0x01 catalog). Appends
/// report durability in sequence order; a truncation removes every entry after a
/// sequence, a trim every entry up to one (those are applied to the partition's state,
/// `PartitionStateStore`). Opening reads no entry: it lists the keys, finishes a trim a
/// crash interrupted, and checks that the rest follow the applied sequence without a gap.
public final class PartitionLog: LeaderLogReader {
    public let keyspace: KeyspaceName
    public let partition: Int
    private let storage: any ReplicaStorage
    private let state: Mutex<State>

    private struct State {
        /// Entries up to this sequence were trimmed.
        var trimmedThrough: UInt64 = 0
        /// The last sequence appended (issued to storage).
        var last: UInt64 = 0
        /// The last sequence durable, every one before it durable too.
        var durable: UInt64 = 0
        /// Sequences durable out of order, waiting for the ones before them.
        var durableAhead: Set<UInt64> = []
    }

    /// Opens the partition's log from what `storage` holds; entries up to `applied` are
    /// in the partition's state and are removed if a trim left them.
    public init(storage: any ReplicaStorage, keyspace: KeyspaceName, partition: Int, applied: UInt64 = 0)
        throws(RingstoreError)
    {
        self.storage = storage
        self.keyspace = keyspace
        self.partition = partition
        var state = State(trimmedThrough: applied, last: applied)
        let prefix = Self.prefix(keyspace, partition)
        let sequences = storage.keys(withPrefix: prefix).compactMap { Self.sequence(of: $0, prefixCount: prefix.count) }
            .sorted()
        for sequence in sequences {
            if sequence <= applied {
                storage.delete(Self.key(keyspace, partition, sequence)) { _ in }
                continue
            }
            guard sequence == state.last + 1 else {
                throw RingstoreError(
                    .storage, "partition \(partition) of \(keyspace): log entry \(sequence) follows \(state.last)")
            }
            state.last = sequence
        }
        state.durable = state.last
        self.state = Mutex(state)
    }

    /// The first sequence the log may hold (those before it were trimmed).
    public var start: UInt64 { state.withLock { $0.trimmedThrough + 1 } }
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
            state.last = entries.last!.position.sequence
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
            return range
        }
        guard let removed else { return completion(nil) }
        let batch = DurableBatch(count: removed.count, completion: completion)
        for gone in removed { storage.delete(Self.key(keyspace, partition, gone), completion: batch.done) }
    }

    /// Removes the entries up to `sequence` (applied, and needed by no replica). Their
    /// removal need not be waited for: opening finishes a trim a crash cut short.
    public func trim(through sequence: UInt64) {
        let removed: ClosedRange<UInt64>? = state.withLock { state in
            let through = min(sequence, state.durable)
            guard through > state.trimmedThrough else { return nil }
            defer { state.trimmedThrough = through }
            return (state.trimmedThrough + 1)...through
        }
        guard let removed else { return }
        for gone in removed { storage.delete(Self.key(keyspace, partition, gone)) { _ in } }
    }

    /// Removes every entry (a snapshot replaces the replica's log and state); the log
    /// then ends at 0. `PartitionStateStore.wipe` orders it after its mark.
    func wipe() {
        let removed: ClosedRange<UInt64>? = state.withLock { state in
            defer { state = State() }
            return state.last > state.trimmedThrough ? (state.trimmedThrough + 1)...state.last : nil
        }
        guard let removed else { return }
        for gone in removed { storage.delete(Self.key(keyspace, partition, gone)) { _ in } }
    }

    /// The log of a replica whose installed snapshot reaches `sequence`: empty, the next
    /// entry follows it.
    func installed(through sequence: UInt64) {
        state.withLock { state in state = State(trimmedThrough: sequence, last: sequence, durable: sequence) }
    }

    /// `0x02 kind keyspace 0x00 partition(u32 BE)`: 'L' for the log, 'S' and 'M' for the
    /// partition's state and its mark.
    static func prefix(_ keyspace: KeyspaceName, _ partition: Int, kind: UInt8 = UInt8(ascii: "L")) -> [UInt8] {
        var bytes: [UInt8] = [0x02, kind]
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
