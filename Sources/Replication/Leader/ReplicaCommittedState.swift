import RingstoreCore

/// What reads and conditions see: the committed index (each key's latest position at or
/// below the high watermark) and the uncommitted tail above it; values come from the tail
/// or, once committed, from the log.
extension LeaderReplicaStateMachine {
    /// Moves tail entries the known high watermark covers into the committed index.
    mutating func advanceCommitted() {
        let known = leader?.highWatermark ?? follower?.highWatermark ?? settling?.highWatermark ?? 0
        let mark = min(known, logDurable)
        guard mark > committedThrough else { return }
        while let first = tail.first, first.position.sequence <= mark {
            tail.removeFirst()
            tailAppendedAt.removeFirst()
            if !first.isEpochStart {
                committed[first.key] = CommittedKey(position: first.position, deleted: first.value == nil)
            }
        }
        committedThrough = mark
    }

    /// The key's latest position in the log, committed or not, and whether it deleted the key.
    func latest(_ key: [UInt8]) -> CommittedKey? {
        if let entry = tail.last(where: { $0.key == key }) {
            return CommittedKey(position: entry.position, deleted: entry.value == nil)
        }
        return committed[key]
    }

    func committedValue(_ key: [UInt8]) -> Result<LeaderRead, LeaderReadFailure> {
        value(at: committed[key])
    }

    /// The value written at a key's position: from the tail when it is there (its append
    /// may still be in flight), else from the log.
    func value(at found: CommittedKey?) -> Result<LeaderRead, LeaderReadFailure> {
        guard let found else { return .success(LeaderRead(value: nil, position: nil)) }
        if found.deleted { return .success(LeaderRead(value: nil, position: found.position)) }
        if let first = tail.first, found.position.sequence >= first.position.sequence {
            let index = Int(found.position.sequence - first.position.sequence)
            if index < tail.count, tail[index].position == found.position {
                return .success(LeaderRead(value: tail[index].value, position: found.position))
            }
        }
        let sequence = found.position.sequence
        guard let entry = try? log.entries(from: sequence, through: sequence, bytesMax: 0).first,
            entry.position == found.position
        else { return .failure(.storage) }
        return .success(LeaderRead(value: entry.value, position: found.position))
    }
}
