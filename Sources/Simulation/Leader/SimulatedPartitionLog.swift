import Replication
import RingstoreCore

/// A simulated replica's durable partition: its log (the entries after `logBase`), its
/// applied state and the mark that says how far the log is applied. Disk operations reach
/// it after a simulated delay, in order; a crash loses whatever had not reached it.
final class SimulatedPartitionLog: LeaderLogReader, PartitionStateReader, @unchecked Sendable {
    /// The log holds the entries after this sequence.
    private(set) var logBase: UInt64 = 0
    private(set) var entries: [LeaderEntry] = []
    private(set) var state: [[UInt8]: PartitionStateItem] = [:]
    private(set) var mark = PartitionStateMark.empty

    var durable: UInt64 { logBase + UInt64(entries.count) }

    /// What opening finds: a half-installed snapshot is wiped (the replica starts empty),
    /// entries already applied are trimmed.
    func open() {
        if mark.installing {
            wipe()
            mark = .empty
        }
        trim(through: mark.applied.sequence)
    }

    func append(_ batch: [LeaderEntry]) {
        precondition(
            batch.first?.position.sequence == durable + 1, "appending \(batch.first!.position) after \(durable)")
        entries += batch
    }

    func truncate(after sequence: UInt64) {
        precondition(sequence >= logBase, "truncating after \(sequence), below the log's start \(logBase + 1)")
        if durable > sequence { entries.removeLast(Int(durable - sequence)) }
    }

    func trim(through sequence: UInt64) {
        guard sequence > logBase else { return }
        entries.removeFirst(min(entries.count, Int(sequence - logBase)))
        logBase = sequence
    }

    func apply(_ batch: [LeaderEntry], mark: PartitionStateMark) {
        for entry in batch where !entry.isEpochStart {
            state[entry.key] = entry.value.map {
                PartitionStateItem(key: entry.key, position: entry.position, value: $0)
            }
        }
        self.mark = mark
    }

    /// Marks the state half-installed and forgets the log and the state.
    func wipe(mark: PartitionStateMark? = nil) {
        if let mark { self.mark = mark }
        entries = []
        logBase = 0
        state = [:]
    }

    func store(_ items: [PartitionStateItem]) {
        for item in items { state[item.key] = item }
    }

    func finishInstall(_ mark: PartitionStateMark) {
        self.mark = mark
        entries = []
        logBase = mark.applied.sequence
    }

    /// The state with every durable log entry after the applied mark applied on top:
    /// what the replica reads once it has applied all it holds.
    var materialized: [[UInt8]: PartitionStateItem] {
        var view = state
        for entry in entries where entry.position.sequence > mark.applied.sequence && !entry.isEpochStart {
            view[entry.key] = entry.value.map {
                PartitionStateItem(key: entry.key, position: entry.position, value: $0)
            }
        }
        return view
    }

    func entries(from: UInt64, through: UInt64, bytesMax: Int) throws(RingstoreError) -> [LeaderEntry] {
        guard from > logBase, through <= durable, from <= through else {
            throw RingstoreError(
                .storage, "entries \(from)...\(through) are not in a log of \(logBase + 1)...\(durable)")
        }
        var found: [LeaderEntry] = []
        var bytes = 0
        for entry in entries[Int(from - logBase - 1)..<Int(through - logBase)] {
            guard found.isEmpty || bytes < bytesMax else { break }
            found.append(entry)
            bytes += entry.key.count + (entry.value?.count ?? 0)
        }
        return found
    }

    func item(_ key: [UInt8]) throws(RingstoreError) -> PartitionStateItem? { state[key] }

    func keys() throws(RingstoreError) -> [[UInt8]] {
        state.keys.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
