import RingstoreCore

/// What reads and conditions see: the partition's applied state (read through the
/// `PartitionStateReader`) under the tail of entries not applied yet; committed entries
/// are applied to the state, after which the log may forget them.
extension LeaderReplicaStateMachine {
    /// Raises the committed sequence to the known high watermark (capped at the durable log).
    mutating func advanceCommitted() {
        let known = leader?.highWatermark ?? follower?.highWatermark ?? settling?.highWatermark ?? 0
        let mark = min(known, logDurable)
        if mark > committedThrough { committedThrough = mark }
    }

    /// Applies the committed entries not applied yet (one apply under way at a time, so
    /// they batch under load).
    mutating func applyCommitted() -> [Action] {
        guard applying == nil, install == nil, failure == nil, committedThrough > applied else { return [] }
        let count = Int(committedThrough - applied)
        let entries = Array(tail.prefix(count))
        guard let last = entries.last, last.position.sequence == committedThrough else { return [] }
        applying = committedThrough
        return [.apply(entries, PartitionStateMark(applied: last.position, history: history))]
    }

    /// The state holds the entries through `sequence` (and says so durably): they leave
    /// the tail, and the log may be trimmed.
    public mutating func applied(through sequence: UInt64, now: UInt64) -> [Action] {
        guard applying == sequence else { return [] }
        applying = nil
        while let first = tail.first, first.position.sequence <= sequence {
            tail.removeFirst()
            tailAppendedAt.removeFirst()
            if tailKeys[first.key] == 1 { tailKeys[first.key] = nil } else { tailKeys[first.key]! -= 1 }
        }
        applied = sequence
        return trimLog() + continueInstall(now: now) + afterChange(now: now)
    }

    /// Trims the log below what no replica may still need: every entry applied here, and
    /// (on the leader) every follower has and no snapshot being streamed still needs; in
    /// any case down to the retention budget (a follower that needs what is gone then
    /// gets a snapshot).
    mutating func trimLog() -> [Action] {
        var through = applied
        if let machine = leader {
            for peer in configuration.replicas where peer != me {
                through = min(through, machine.followerPositions[peer] ?? 0)
            }
            for session in snapshotSessions.values { through = min(through, session.base.sequence) }
        }
        var budgetThrough = trimmedThrough
        var bytes = logBytes
        var index = 0
        while bytes > configuration.logRetainBytes, budgetThrough < applied, index < logSizes.count {
            bytes -= Int(logSizes[index])
            budgetThrough += 1
            index += 1
        }
        through = max(through, budgetThrough)
        guard through > trimmedThrough else { return [] }
        // Snapshots based below the new start can no longer be caught up from: they end.
        snapshotSessions = snapshotSessions.filter { $0.value.base.sequence >= through }
        for _ in 0..<(through - trimmedThrough) { logBytes -= Int(logSizes.removeFirst()) }
        trimmedThrough = through
        return [.trimLog(through: through)]
    }

    /// The key's latest position in the log, committed or not, and whether it deleted the key.
    func latest(_ key: [UInt8]) throws(RingstoreError) -> CommittedKey? {
        if tailKeys[key] != nil, let entry = tail.last(where: { $0.key == key }) {
            return CommittedKey(position: entry.position, deleted: entry.value == nil)
        }
        return try state.item(key).map { CommittedKey(position: $0.position, deleted: false) }
    }

    /// The key's latest committed value.
    func committedValue(_ key: [UInt8]) -> Result<LeaderRead, LeaderReadFailure> {
        read(key, through: committedThrough)
    }

    /// The key's latest value, committed or not (its append may still be in flight).
    func latestValue(_ key: [UInt8]) -> Result<LeaderRead, LeaderReadFailure> {
        read(key, through: .max)
    }

    /// The key's value as of the entry at `through` (the tail after it is not seen). A
    /// deleted key reads as absent, with no position.
    private func read(_ key: [UInt8], through: UInt64) -> Result<LeaderRead, LeaderReadFailure> {
        if tailKeys[key] != nil,
            let entry = tail.last(where: { $0.key == key && $0.position.sequence <= through })
        {
            return .success(LeaderRead(value: entry.value, position: entry.value == nil ? nil : entry.position))
        }
        do {
            let item = try state.item(key)
            return .success(LeaderRead(value: item?.value, position: item?.position))
        } catch {
            return .failure(.storage)
        }
    }
}
