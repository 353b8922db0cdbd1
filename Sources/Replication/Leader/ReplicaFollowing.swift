import RingstoreCore

/// The follower's side of replication: its fetches, with their timeouts and retries,
/// and the appends and truncations their answers call for. What a peer sends is checked
/// before it reaches the log.
extension LeaderReplicaStateMachine {
    /// The leader answered fetch `number`.
    public mutating func fetchAnswered(number: UInt64, _ reply: FetchReply, entries: [LeaderEntry], now: UInt64)
        -> [Action]
    {
        guard let outstanding = fetch, outstanding.number == number, follower != nil else { return [] }
        fetch = nil
        return performFollower(follower!.fetched(reply), entries: entries, now: now) + afterChange(now: now)
    }

    /// Fetch `number` failed (no answer, a refused connection): fetch again after `fetchRetry`.
    public mutating func fetchFailed(number: UInt64, now: UInt64) -> [Action] {
        guard let outstanding = fetch, outstanding.number == number else { return [] }
        fetch = nil
        fetchRetryAt = now + configuration.fetchRetry.wholeMilliseconds
        return afterChange(now: now)
    }

    /// The log was cut after `sequence`.
    public mutating func truncated(after sequence: UInt64, now: UInt64) -> [Action] {
        guard truncating == sequence else { return [] }
        truncating = nil
        logLast = min(logLast, sequence)
        logDurable = min(logDurable, sequence)
        history.truncate(after: sequence)
        var actions = reportCut(after: sequence)
        while let last = tail.last, last.position.sequence > sequence {
            tail.removeLast()
            tailAppendedAt.removeLast()
            if tailKeys[last.key] == 1 { tailKeys[last.key] = nil } else { tailKeys[last.key]! -= 1 }
            logBytes -= Int(logSizes.removeLast())
        }
        if follower != nil { actions += performFollower(follower!.truncated(after: sequence), now: now) }
        return actions + settle(now: now) + afterChange(now: now)
    }

    /// The report of the tail entries after `sequence`, about to be cut (none: nothing).
    private func reportCut(after sequence: UInt64) -> [Action] {
        guard let first = tail.first, let last = tail.last, last.position.sequence > sequence else { return [] }
        let start = Int(max(sequence + 1, first.position.sequence) - first.position.sequence)
        let cut = tail[start...]
        let times = tailAppendedAt[start...].compactMap { $0 }
        let writes = cut.lazy.filter { !$0.isEpochStart }.prefix(LeaderLogCut.writesMax)
            .map { LeaderLogCut.Write(position: $0.position, key: $0.key) }
        return [
            .logCut(
                LeaderLogCut(
                    epoch: currentEpoch, first: cut.first!.position, last: last.position, count: cut.count,
                    writes: Array(writes), appendedFrom: times.min(), appendedThrough: times.max()))
        ]
    }

    /// Performs what the follower machine decided.
    mutating func performFollower(_ decided: [PartitionFollower.Action], entries: [LeaderEntry] = [], now: UInt64)
        -> [Action]
    {
        var actions: [Action] = []
        for action in decided {
            switch action {
            case .fetch(let to, let request):
                fetchNumber += 1
                fetch = (fetchNumber, now, to)
                actions.append(.sendFetch(number: fetchNumber, to: to, request))
            case .append(let from, let through):
                actions += appendFetched(entries, from: from, through: through, now: now)
            case .installSnapshot(let leader):
                actions += beginInstall(from: leader, now: now)
            case .truncate(let sequence):
                // Committed entries are never cut: a leader asking for it is not believed (a
                // peer's message must not make this node lose what it acknowledged).
                guard sequence >= committedThrough else {
                    actions += retryLater(now: now)
                    continue
                }
                truncating = sequence
                actions.append(.truncate(after: sequence))
            }
        }
        return actions
    }

    /// Appends fetched entries: exactly `from...through`, in order, right after the log's
    /// end, epochs never going back; anything else from a peer is not appended.
    private mutating func appendFetched(_ entries: [LeaderEntry], from: UInt64, through: UInt64, now: UInt64)
        -> [Action]
    {
        let batch = entries.filter { (from...through).contains($0.position.sequence) }
        var epoch = history.lastEpoch
        var epochs: [(epoch: Epoch, start: UInt64)] = []
        var valid =
            batch.map(\.position.sequence).elementsEqual(from...through) && from == logLast + 1
            && logLast == logDurable
        for entry in batch where valid {
            valid = entry.position.epoch >= epoch && entry.position.epoch <= currentEpoch
            epoch = entry.position.epoch
            if entry.position.epoch != epochs.last?.epoch {
                epochs.append((entry.position.epoch, entry.position.sequence))
            }
        }
        guard valid else { return retryLater(now: now) }
        followerAppend = (through, epochs)
        return issueAppend(batch, now: now)
    }

    /// The follower machine decided work that cannot be done: fetch again after a while.
    private mutating func retryLater(now: UInt64) -> [Action] {
        fetchRetryAt = now + configuration.fetchRetry.wholeMilliseconds
        return []
    }
}
