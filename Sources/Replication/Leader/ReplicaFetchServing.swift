import RingstoreCore

/// The leader's side of replication: a follower's fetch is answered with entries at
/// once, or held until there is something new (an entry handed to the log, a higher high
/// watermark) or
/// `fetchHold` passed: followers long-poll, nothing polls.
extension LeaderReplicaStateMachine {
    /// A peer's fetch.
    public mutating func fetchReceived(_ id: ReplicaRequestID, _ request: FetchRequest, now: UInt64) -> [Action] {
        guard let before = leader else {
            return [.answerFetch(id, .fenced(epoch: currentEpoch), [])] + afterChange(now: now)
        }
        let (reply, decided) = leader!.fetch(request, now: now)
        var actions = performLeader(decided, now: now)
        // A follower fetching past a snapshot's base has installed it.
        if let session = snapshotSessions[request.follower], request.last.sequence >= session.base.sequence {
            snapshotSessions[request.follower] = nil
        }
        switch reply {
        case .entries(let epoch, let from, let through, let mark):
            actions.append(entriesAnswer(id, epoch: epoch, from: from, through: through, highWatermark: mark))
        case .upToDate(_, let mark) where leader != nil && mark == before.highWatermark:
            // Its position did not move the high watermark: nothing to tell it yet.
            let deadline = now + configuration.fetchHold.wholeMilliseconds
            heldFetches.append(HeldFetch(id: id, request: request, highWatermark: mark, deadline: deadline))
        default:
            actions.append(.answerFetch(id, reply, []))
        }
        return actions + afterChange(now: now)
    }

    /// Answers held fetches that have something new, or whose hold is over.
    mutating func answerHeldFetches(now: UInt64) -> [Action] {
        guard !heldFetches.isEmpty, let machine = leader else { return [] }
        var actions: [Action] = []
        var kept: [HeldFetch] = []
        for held in heldFetches {
            let position = held.request.last.sequence
            if machine.last > position {
                actions.append(
                    entriesAnswer(
                        held.id, epoch: machine.epoch, from: position + 1, through: machine.last,
                        highWatermark: machine.highWatermark))
            } else if machine.highWatermark != held.highWatermark || now >= held.deadline {
                actions.append(
                    .answerFetch(held.id, .upToDate(epoch: machine.epoch, highWatermark: machine.highWatermark), []))
            } else {
                kept.append(held)
            }
        }
        heldFetches = kept
        return actions
    }

    /// Entries `from...through` (as many as `fetchBytesMax` allows) as a fetch's answer;
    /// when the log was trimmed past `from`, the answer that the follower needs a snapshot.
    func entriesAnswer(_ id: ReplicaRequestID, epoch: Epoch, from: UInt64, through: UInt64, highWatermark: UInt64)
        -> Action
    {
        guard from > trimmedThrough else {
            return .answerFetch(id, .snapshot(epoch: epoch, logStart: trimmedThrough + 1), [])
        }
        guard let entries = entries(from: from, through: through), let last = entries.last else {
            return .answerFetch(id, .upToDate(epoch: epoch, highWatermark: highWatermark), [])
        }
        return .answerFetch(
            id, .entries(epoch: epoch, from: from, through: last.position.sequence, highWatermark: highWatermark),
            entries)
    }

    /// Entries `from...through`: the applied ones from the log, the rest (committed,
    /// durable or still being appended) from the tail in memory; nil when the log cannot
    /// be read.
    func entries(from: UInt64, through: UInt64) -> [LeaderEntry]? {
        let bytesMax = configuration.fetchBytesMax
        var found: [LeaderEntry] = []
        var bytes = 0
        var sequence = from
        if sequence <= applied {
            let upTo = min(through, applied)
            guard let read = try? log.entries(from: sequence, through: upTo, bytesMax: bytesMax) else { return nil }
            found = read
            bytes = read.reduce(0) { $0 + $1.key.count + ($1.value?.count ?? 0) }
            sequence += UInt64(read.count)
            if sequence <= upTo { return found }
        }
        guard let first = tail.first, sequence >= first.position.sequence else { return found }
        var index = Int(sequence - first.position.sequence)
        while sequence <= through, index < tail.count, found.isEmpty || bytes < bytesMax {
            let entry = tail[index]
            found.append(entry)
            bytes += entry.key.count + (entry.value?.count ?? 0)
            index += 1
            sequence += 1
        }
        return found
    }
}
