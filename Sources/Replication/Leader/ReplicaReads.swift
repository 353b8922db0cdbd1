import RingstoreCore

/// Client reads: `after=` tokens, follower and leader reads, and linearizable reads,
/// served under the lease or after etcd confirmed the leadership.
extension LeaderReplicaStateMachine {
    /// A client read of `key` at `level`; with `after`, once the write at that position is
    /// committed here. Answered by `deadline` at the latest.
    public mutating func read(
        _ id: ReplicaRequestID, key: [UInt8], level: LeaderReadLevel, after: LogPosition?, deadline: UInt64,
        now: UInt64
    ) -> [Action] {
        let read = PendingRead(id: id, key: key, level: level, after: after, deadline: deadline)
        if let after, committedThrough < after.sequence {
            readsAfter.append(read)
            return afterChange(now: now)
        }
        return proceed(read, now: now) + afterChange(now: now)
    }

    /// Whether a linearizable read may be answered now without asking etcd: lease reads
    /// are on, the lease surely holds, and an entry of this epoch is committed.
    public func servesLeaseReads(now: UInt64) -> Bool {
        guard configuration.leaseReads, let machine = leader else { return false }
        return machine.isLeading && now < machine.leaseValidUntil && machine.committedInOwnEpoch
    }

    private mutating func proceed(_ read: PendingRead, now: UInt64) -> [Action] {
        if failure != nil { return [.completeRead(read.id, .failure(.storage))] }
        if let after = read.after, history.epoch(of: after.sequence) != after.epoch {
            return [.completeRead(read.id, .failure(.tokenLost(after)))]
        }
        switch read.level {
        case .follower:
            // A half-installed snapshot is no state to read.
            guard install == nil else { return [.completeRead(read.id, .failure(.installingSnapshot))] }
            return [.completeRead(read.id, committedValue(read.key))]
        case .leader:
            guard isLeading else { return [.completeRead(read.id, .failure(.notLeader(knownLeader)))] }
            return [.completeRead(read.id, latestValue(read.key))]
        case .linearizable:
            guard isLeading else { return [.completeRead(read.id, .failure(.notLeader(knownLeader)))] }
            if servesLeaseReads(now: now) { return [.completeRead(read.id, committedValue(read.key))] }
            awaitingConfirmation.append(read)
            return askConfirmation(now: now)
        }
    }

    /// Reads whose token's write is now committed go on; those past their deadline time out.
    mutating func releaseReadsAfter(now: UInt64) -> [Action] {
        guard !readsAfter.isEmpty else { return [] }
        var actions: [Action] = []
        var kept: [PendingRead] = []
        for read in readsAfter {
            if committedThrough >= read.after!.sequence {
                actions += proceed(read, now: now)
            } else if now >= read.deadline {
                actions.append(.completeRead(read.id, .failure(.timedOut)))
            } else {
                kept.append(read)
            }
        }
        readsAfter = kept
        return actions
    }

    /// Asks etcd to confirm the leadership for the reads that arrived since the last
    /// question was asked (one question under way at a time, ReadIndex style: a read is
    /// never answered by a confirmation asked before it arrived).
    mutating func askConfirmation(now: UInt64) -> [Action] {
        guard confirmation == nil, !awaitingConfirmation.isEmpty, let machine = leader, machine.isLeading else {
            return []
        }
        confirmation = Confirmation(epoch: machine.epoch, sentAt: now, reads: awaitingConfirmation)
        awaitingConfirmation = []
        return [.confirmLeadership(epoch: machine.epoch)]
    }

    /// etcd answered whether this node still leads in `epoch` (nil: it could not be asked).
    public mutating func leadershipConfirmed(epoch: Epoch, confirmed: Bool?, now: UInt64) -> [Action] {
        guard confirmation?.epoch == epoch else { return afterChange(now: now) }
        return confirmationEnded(confirmed: confirmed, now: now) + afterChange(now: now)
    }

    mutating func confirmationEnded(confirmed: Bool?, now: UInt64) -> [Action] {
        guard let ended = confirmation else { return [] }
        confirmation = nil
        var actions: [Action] = []
        switch confirmed {
        case true?:
            confirmedReads += ended.reads
        case false?:
            for read in ended.reads { actions.append(.completeRead(read.id, .failure(.notLeader(nil)))) }
        case nil:
            for read in ended.reads { actions.append(.completeRead(read.id, .failure(.timedOut))) }
        }
        return actions + askConfirmation(now: now)
    }

    /// Confirmed reads are answered once the lease holds and the high watermark covers
    /// what this leader inherited.
    mutating func serveConfirmedReads(now: UInt64) -> [Action] {
        guard !confirmedReads.isEmpty else { return [] }
        guard let machine = leader, machine.isLeading else {
            defer { confirmedReads = [] }
            return confirmedReads.map { .completeRead($0.id, .failure(.notLeader(knownLeader))) }
        }
        guard machine.servesLinearizableReads(now: now) else { return [] }
        defer { confirmedReads = [] }
        return confirmedReads.map { .completeRead($0.id, committedValue($0.key)) }
    }

    /// Linearizable reads past their deadline time out, wherever they wait.
    mutating func expireReads(now: UInt64) -> [Action] {
        var actions: [Action] = []
        func expire(_ reads: inout [PendingRead]) {
            guard reads.contains(where: { now >= $0.deadline }) else { return }
            for read in reads where now >= read.deadline {
                actions.append(.completeRead(read.id, .failure(.timedOut)))
            }
            reads.removeAll { now >= $0.deadline }
        }
        expire(&awaitingConfirmation)
        expire(&confirmedReads)
        if confirmation != nil { expire(&confirmation!.reads) }
        return actions
    }
}
