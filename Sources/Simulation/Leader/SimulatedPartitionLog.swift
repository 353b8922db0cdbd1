import Replication
import RingstoreCore

/// A simulated replica's durable log: what survives its crashes. Appends reach it after
/// a simulated disk delay, in order; a crash loses whatever had not reached it.
final class SimulatedPartitionLog: LeaderLogReader, @unchecked Sendable {
    private(set) var entries: [LeaderEntry] = []

    var durable: UInt64 { UInt64(entries.count) }

    func append(_ batch: [LeaderEntry]) {
        precondition(
            batch.first?.position.sequence == durable + 1, "appending \(batch.first!.position) after \(durable)")
        entries += batch
    }

    func truncate(after sequence: UInt64) {
        if durable > sequence { entries.removeLast(Int(durable - sequence)) }
    }

    func entries(from: UInt64, through: UInt64, bytesMax: Int) throws(RingstoreError) -> [LeaderEntry] {
        guard from >= 1, through <= durable, from <= through else {
            throw RingstoreError(.storage, "entries \(from)...\(through) are not in a log of \(durable)")
        }
        var found: [LeaderEntry] = []
        var bytes = 0
        for entry in entries[Int(from - 1)..<Int(through)] {
            guard found.isEmpty || bytes < bytesMax else { break }
            found.append(entry)
            bytes += entry.key.count + (entry.value?.count ?? 0)
        }
        return found
    }
}
