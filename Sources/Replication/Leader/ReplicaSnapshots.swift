import RingstoreCore

/// Partition snapshots: a follower whose next entries were trimmed from the leader's log
/// receives the leader's state as of a log position, part by part (it asks for the next
/// part once it stored the last), then fetches the entries after that position. The
/// leader pins its log after the snapshot's base while the snapshot is read. The
/// follower wipes its state before the first part and marks it half-installed until the
/// last is stored: it answers no reads meanwhile, and a crash leaves it empty, to start over.
extension LeaderReplicaStateMachine {
    // MARK: The leader's side

    /// A follower asks for part of a snapshot.
    public mutating func snapshotRequested(_ id: ReplicaRequestID, _ request: SnapshotRequest, now: UInt64)
        -> [Action]
    {
        snapshotPart(id, request, now: now) + afterChange(now: now)
    }

    private mutating func snapshotPart(_ id: ReplicaRequestID, _ request: SnapshotRequest, now: UInt64) -> [Action] {
        guard let machine = leader, machine.isLeading, request.epoch == machine.epoch,
            configuration.replicas.contains(request.follower), request.follower != me
        else { return [.answerSnapshot(id, .fenced(epoch: max(currentEpoch, request.epoch)))] }
        let epoch = machine.epoch
        var session: SnapshotSession
        if let base = request.base {
            guard let held = snapshotSessions[request.follower], held.base == base,
                request.offset <= UInt64(held.keys.count)
            else { return [.answerSnapshot(id, .gone(epoch: epoch))] }
            session = held
        } else {
            guard let keys = try? state.keys() else { return [.answerSnapshot(id, .gone(epoch: epoch))] }
            var through = history
            through.truncate(after: applied)
            session = SnapshotSession(
                base: LogPosition(epoch: through.epoch(of: applied), sequence: applied), history: through, keys: keys,
                lastAskedAt: now)
        }
        var items: [PartitionStateItem] = []
        var bytes = 0
        var index = Int(request.offset)
        while index < session.keys.count, items.isEmpty || bytes < configuration.snapshotPartBytes {
            let key = session.keys[index]
            index += 1
            // A key deleted since the snapshot began has no item: the entries after the
            // base delete it on the follower too.
            let found: PartitionStateItem?
            do {
                found = try state.item(key)
            } catch {
                snapshotSessions[request.follower] = nil
                return [.answerSnapshot(id, .gone(epoch: epoch))]
            }
            guard let item = found else { continue }
            items.append(item)
            bytes += 16 + item.key.count + item.value.count
        }
        session.lastAskedAt = now
        snapshotSessions[request.follower] = session
        let next = index < session.keys.count ? UInt64(index) : nil
        return [
            .answerSnapshot(
                id, .chunk(epoch: epoch, base: session.base, history: session.history, items: items, next: next))
        ]
    }

    /// Snapshots nobody asked for a part of in `snapshotIdle` end; a follower's request
    /// unanswered for `fetchTimeout` is asked again.
    mutating func snapshotTick(now: UInt64) -> [Action] {
        let idle = configuration.snapshotIdle.wholeMilliseconds
        if snapshotSessions.values.contains(where: { now >= $0.lastAskedAt + idle }) {
            snapshotSessions = snapshotSessions.filter { now < $0.value.lastAskedAt + idle }
        }
        guard install != nil else { return [] }
        if let asked = install!.asked, now >= asked.sentAt + configuration.fetchTimeout.wholeMilliseconds {
            install!.asked = nil
            install!.retryAt = now
        }
        if let at = install!.retryAt, now >= at {
            install!.retryAt = nil
            return continueInstall(now: now)
        }
        return []
    }

    // MARK: The follower's side

    /// The follower machine found its next entries trimmed from `leader`'s log.
    mutating func beginInstall(from leader: NodeID, now: UInt64) -> [Action] {
        install = SnapshotInstall(leader: leader, epoch: follower?.epoch ?? currentEpoch)
        return continueInstall(now: now)
    }

    /// Asks for the next part (once an apply under way ended and the last part is
    /// stored), or completes the install after the last.
    mutating func continueInstall(now: UInt64) -> [Action] {
        guard let current = install, current.asked == nil, current.retryAt == nil, !current.storing,
            !current.finishing, applying == nil
        else { return [] }
        fetchNumber += 1
        install!.asked = (fetchNumber, now)
        return [
            .sendSnapshotRequest(
                number: fetchNumber, to: current.leader,
                SnapshotRequest(follower: me, epoch: current.epoch, base: current.base, offset: current.next))
        ]
    }

    /// The leader answered snapshot request `number`.
    public mutating func snapshotAnswered(number: UInt64, _ reply: SnapshotReply, now: UInt64) -> [Action] {
        guard let current = install, let asked = current.asked, asked.number == number else { return [] }
        install!.asked = nil
        var actions: [Action] = []
        switch reply {
        case .chunk(let epoch, let base, let snapshotHistory, let items, let next)
        where epoch == current.epoch && (current.base == nil || current.base == base):
            if current.base == nil {
                // A new snapshot: whatever this replica held (or an earlier snapshot's parts)
                // goes first, and the state is marked half-installed until the last part.
                install!.base = base
                install!.history = snapshotHistory
                install!.begun = true
                actions += wipe()
            }
            install!.next = next ?? current.next
            install!.storing = true
            install!.finalPart = next == nil
            actions.append(.storeSnapshotPart(items))
        case .gone:
            install!.base = nil
            install!.next = 0
            actions += continueInstall(now: now)
        case .chunk, .fenced:
            // The node asked does not lead in this epoch (any more): ask again later, of
            // the leader etcd names by then.
            install!.retryAt = now + configuration.fetchRetry.wholeMilliseconds
        }
        return actions + afterChange(now: now)
    }

    /// A snapshot request failed (no answer, a refused connection).
    public mutating func snapshotRequestFailed(number: UInt64, now: UInt64) -> [Action] {
        guard let asked = install?.asked, asked.number == number else { return [] }
        install!.asked = nil
        install!.retryAt = now + configuration.fetchRetry.wholeMilliseconds
        return afterChange(now: now)
    }

    /// Forgets the log and state this replica held (the shell does so durably, marking
    /// the state half-installed first).
    private mutating func wipe() -> [Action] {
        tail = []
        tailAppendedAt = []
        tailKeys = [:]
        logSizes = []
        logBytes = 0
        logLast = 0
        logDurable = 0
        applied = 0
        committedThrough = 0
        trimmedThrough = 0
        history = EpochHistory()
        return [.wipeState(PartitionStateMark(applied: .start, history: EpochHistory(), installing: true))]
    }

    /// The part last handed over is stored durably.
    public mutating func snapshotPartStored(now: UInt64) -> [Action] {
        guard let current = install, current.storing else { return [] }
        install!.storing = false
        guard current.finalPart, let base = current.base else {
            return continueInstall(now: now) + afterChange(now: now)
        }
        install!.finishing = true
        return [.finishInstall(PartitionStateMark(applied: base, history: current.history))] + afterChange(now: now)
    }

    /// The mark that completes the install is durable: the state is whole as of the
    /// snapshot's base, and the follower fetches the entries after it.
    public mutating func snapshotInstalled(now: UInt64) -> [Action] {
        guard let current = install, current.finishing, let base = current.base else { return [] }
        install = nil
        logLast = base.sequence
        logDurable = base.sequence
        applied = base.sequence
        committedThrough = base.sequence
        trimmedThrough = base.sequence
        history = current.history
        var actions: [Action] = []
        if follower != nil {
            actions += performFollower(follower!.installEnded(last: base.sequence, history: history), now: now)
        }
        return actions + settle(now: now) + afterChange(now: now)
    }

    /// etcd names a new leader while a snapshot is being installed: the rest comes from
    /// it (a new snapshot; the parts stored so far are wiped with its first).
    mutating func installFollows(_ node: NodeID, epoch: Epoch, now: UInt64) -> [Action] {
        guard let current = install, !current.finishing, current.leader != node || current.epoch != epoch else {
            return []
        }
        install!.leader = node
        install!.epoch = epoch
        install!.base = nil
        install!.next = 0
        install!.finalPart = false
        install!.asked = nil
        install!.retryAt = nil
        return continueInstall(now: now)
    }
}
