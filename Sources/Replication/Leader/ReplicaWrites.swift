import RingstoreCore

/// Client writes on the leader: conditions decided on the log's latest positions, the
/// append, and the acknowledgement the leader machine decides.
extension LeaderReplicaStateMachine {
    /// A client write of `key` (value nil: a delete) at `ack`, under `condition`, answered
    /// by `deadline` at the latest (`.unknown` then: it may still commit).
    public mutating func write(
        _ id: ReplicaRequestID, key: [UInt8], value: [UInt8]?, ack: LeaderAck, condition: LeaderWriteCondition?,
        deadline: UInt64, now: UInt64
    ) -> [Action] {
        decideWrite(id, key: key, value: value, ack: ack, condition: condition, deadline: deadline, now: now)
            + afterChange(now: now)
    }

    private mutating func decideWrite(
        _ id: ReplicaRequestID, key: [UInt8], value: [UInt8]?, ack: LeaderAck, condition: LeaderWriteCondition?,
        deadline: UInt64, now: UInt64
    ) -> [Action] {
        guard isLeading else { return [.completeWrite(id, .notLeader(knownLeader))] }
        if let condition {
            let current: CommittedKey?
            do {
                current = try latest(key)
            } catch {
                return [.completeWrite(id, .refused(.stateUnreadable))]
            }
            let holds =
                switch condition {
                case .absent: current == nil || current!.deleted
                // A delete's position names no value: only a live value matches.
                case .matches(let position): current?.position == position && !current!.deleted
                }
            guard holds else {
                // Answered (412) once the position that fails it is committed and the lease
                // holds: an uncommitted one could still be lost.
                let waitUntil = now + configuration.conditionWait.wholeMilliseconds
                conditionWaits.append(
                    ConditionWait(
                        id: id, current: current?.position, deleted: current?.deleted ?? false,
                        deadline: min(deadline, waitUntil)))
                return []
            }
        }
        switch leader!.write(request: id.value, ack: ack, now: now) {
        case .failure(let refusal):
            return [.completeWrite(id, .refused(refusal))]
        case .success(let position):
            writes[id] = deadline
            return issueAppend([LeaderEntry(position: position, key: key, value: value)], now: now)
        }
    }

    /// Entries handed to the log: they join the tail and the log's history at once.
    mutating func issueAppend(_ entries: [LeaderEntry], now: UInt64) -> [Action] {
        for entry in entries {
            tail.append(entry)
            tailAppendedAt.append(now)
            tailKeys[entry.key, default: 0] += 1
            let size = Self.logSize(entry)
            logSizes.append(size)
            logBytes += Int(size)
            history.begin(entry.position.epoch, at: entry.position.sequence)
            logLast = entry.position.sequence
        }
        return [.append(entries)]
    }

    /// The log is durable through `sequence`.
    public mutating func appended(through sequence: UInt64, now: UInt64) -> [Action] {
        let through = min(sequence, logLast)
        var actions: [Action] = []
        if through > logDurable {
            logDurable = through
            if leader != nil { actions += performLeader(leader!.appended(through: through, now: now), now: now) }
        }
        if follower != nil, let pending = followerAppend, logDurable >= pending.through {
            followerAppend = nil
            actions += performFollower(follower!.appended(through: pending.through, epochs: pending.epochs), now: now)
        }
        return actions + settle(now: now) + afterChange(now: now)
    }

    /// The log could not be written: nothing in it past what is durable can be trusted to
    /// last, so the replica stops leading and serves nothing more.
    public mutating func appendFailed(_ reason: String, now: UInt64) -> [Action] {
        var actions: [Action] = []
        if let machine = leader {
            actions += performLeader(leader!.learned(Epoch(machine.epoch.value + 1)), now: now)
        }
        failure = reason
        follower = nil
        settling = nil
        followerAppend = nil
        truncating = nil
        fetch = nil
        fetchRetryAt = nil
        deferredElection = nil
        for read in readsAfter { actions.append(.completeRead(read.id, .failure(.storage))) }
        readsAfter = []
        install = nil
        applying = nil
        return actions + afterChange(now: now)
    }

    /// Answers refused conditions whose refusing entry is committed under a valid lease;
    /// gives up on those past their deadline.
    mutating func settleConditions(now: UInt64) -> [Action] {
        guard !conditionWaits.isEmpty else { return [] }
        var actions: [Action] = []
        var kept: [ConditionWait] = []
        for wait in conditionWaits {
            guard let machine = leader, machine.isLeading else {
                actions.append(.completeWrite(wait.id, .unknown(Self.lostLeadership)))
                continue
            }
            if machine.highWatermark >= (wait.current?.sequence ?? 0), machine.servesLinearizableReads(now: now) {
                actions.append(.completeWrite(wait.id, .conditionFailed(current: wait.deleted ? nil : wait.current)))
            } else if now >= wait.deadline {
                actions.append(
                    .completeWrite(wait.id, .unknown("the value the condition failed on did not commit in time")))
            } else {
                kept.append(wait)
            }
        }
        conditionWaits = kept
        return actions
    }

    /// Writes not acknowledged by their deadline are answered: they may still commit.
    mutating func expireWrites(now: UInt64) -> [Action] {
        guard writes.values.contains(where: { now >= $0 }) else { return [] }
        let expired = writes.filter { now >= $0.value }.keys.sorted { $0.value < $1.value }
        for id in expired { writes[id] = nil }
        return expired.map { .completeWrite($0, .unknown("timed out before it was acknowledged; it may survive")) }
    }
}
