import RingstoreCore

/// Leadership news from etcd: elections won, the leader etcd names, the lease.
extension LeaderReplicaStateMachine {
    /// This replica won `epoch`; `inSync` is the ISR etcd holds; its lease surely holds
    /// until `leaseValidUntil`. Taken up once the log has settled (no append or truncation
    /// under way).
    public mutating func elected(_ epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64, now: UInt64)
        -> [Action]
    {
        guard failure == nil, leader == nil, epoch > history.lastEpoch, epoch >= currentEpoch else { return [] }
        guard logLast == logDurable, followerAppend == nil, truncating == nil, settling == nil, install == nil else {
            deferredElection = (epoch, inSync, leaseValidUntil)
            return []
        }
        return becomeLeader(epoch, inSync: inSync, leaseValidUntil: leaseValidUntil, now: now) + afterChange(now: now)
    }

    mutating func becomeLeader(_ epoch: Epoch, inSync: Set<NodeID>, leaseValidUntil: UInt64, now: UInt64) -> [Action] {
        deferredElection = nil
        guard failure == nil, leader == nil, epoch > history.lastEpoch, epoch >= currentEpoch else { return [] }
        let former = follower?.leader
        let mark = follower?.highWatermark ?? settling?.highWatermark ?? 0
        follower = nil
        settling = nil
        fetch = nil
        fetchRetryAt = nil
        leader = PartitionLeader(
            me: me, epoch: epoch, replicas: configuration.replicas, inSync: inSync.union([me]),
            minInSync: configuration.minInSync, lagMillis: configuration.lag.wholeMilliseconds, history: history,
            last: logDurable, highWatermark: mark, leaseValidUntil: leaseValidUntil, now: now, formerLeader: former)
        epochStartPending = true
        return [.roleChanged(leader: me, epoch: epoch)] + appendEpochStart(now: now)
    }

    /// Appends the epoch's first entry once the lease allows a write.
    mutating func appendEpochStart(now: UInt64) -> [Action] {
        guard epochStartPending, leader != nil else { return [] }
        guard case .success(let position) = leader!.write(request: Self.epochStartRequest, ack: .leader, now: now)
        else { return [] }
        epochStartPending = false
        return issueAppend([LeaderEntry.epochStart(at: position)], now: now)
    }

    /// etcd names `node` the leader of `epoch`.
    public mutating func leaderIs(_ node: NodeID, epoch: Epoch, now: UInt64) -> [Action] {
        var actions: [Action] = []
        if let machine = leader {
            guard node != me || epoch != machine.epoch else { return [] }
            actions += performLeader(leader!.learned(epoch), now: now)
            if leader != nil { return actions + afterChange(now: now) }
        }
        return actions + follow(node, epoch: epoch, now: now) + afterChange(now: now)
    }

    private mutating func follow(_ node: NodeID, epoch: Epoch, now: UInt64) -> [Action] {
        if settling != nil {
            if epoch >= settling!.epoch {
                settling!.epoch = epoch
                settling!.leader = node
            }
            return []
        }
        guard follower != nil else { return [] }
        let before = follower!.leader
        var actions = performFollower(follower!.leaderElected(node, epoch: epoch), now: now)
        let following = follower!.leader
        if install != nil, let following {
            return actions + installFollows(following, epoch: follower!.epoch, now: now)
        }
        if let outstanding = fetch, following == node, outstanding.to != node {
            // A fetch under way to a node that no longer leads: give it up (its answer is
            // ignored) and fetch from the new leader at once.
            fetch = nil
            actions += performFollower(follower!.fetchFailed(), now: now)
        } else if fetchRetryAt != nil, before != following {
            fetchRetryAt = nil
            actions += performFollower(follower!.fetchFailed(), now: now)
        }
        return actions
    }

    /// A lease renewal etcd answered makes the lease hold until `validUntil`.
    public mutating func leaseRenewed(validUntil: UInt64, now: UInt64) -> [Action] {
        guard leader != nil else { return [] }
        let actions = performLeader(leader!.leaseRenewed(validUntil: validUntil, now: now), now: now)
        return actions + appendEpochStart(now: now) + afterChange(now: now)
    }

    /// The leader key is gone with this node's lease.
    public mutating func leaseLost(now: UInt64) -> [Action] {
        guard leader != nil else { return [] }
        return performLeader(leader!.leaseLost(), now: now) + afterChange(now: now)
    }

    /// etcd answered an ISR proposal: accepted, refused (another leader holds the key),
    /// or nil when it could not be asked (proposed again after `proposalRetry`).
    public mutating func inSyncAnswered(_ members: Set<NodeID>, epoch: Epoch, accepted: Bool?, now: UInt64)
        -> [Action]
    {
        guard let machine = leader, machine.epoch == epoch, machine.proposed == members, let accepted else {
            return afterChange(now: now)
        }
        proposalSentAt = nil
        let actions =
            accepted
            ? leader!.inSyncConfirmed(members, now: now) : leader!.inSyncRefused(newerEpoch: nil)
        return performLeader(actions, now: now) + afterChange(now: now)
    }

    /// Performs what the leader machine decided.
    mutating func performLeader(_ decided: [PartitionLeader.Action], now: UInt64) -> [Action] {
        var actions: [Action] = []
        for action in decided {
            switch action {
            case .acknowledge(let request, let position):
                let id = ReplicaRequestID(request)
                if writes.removeValue(forKey: id) != nil { actions.append(.completeWrite(id, .written(position))) }
            case .refuse(let request, let refusal):
                let id = ReplicaRequestID(request)
                guard writes.removeValue(forKey: id) != nil else { continue }
                if case .notEnoughInSyncAfterAppend = refusal {
                    actions.append(.completeWrite(id, .refused(refusal)))
                } else {
                    actions.append(.completeWrite(id, .unknown(Self.lostLeadership)))
                }
            case .proposeInSync(let members, let epoch):
                proposalSentAt = now
                actions.append(.proposeInSync(members, epoch: epoch))
            case .stepDown(let epoch):
                actions += stepDown(to: epoch)
            }
        }
        return actions
    }

    static let lostLeadership = "leadership was lost before the write was acknowledged; it may survive"

    /// Stops leading: what waits on the leader is answered, and the replica follows (once
    /// its own appends are durable).
    mutating func stepDown(to epoch: Epoch) -> [Action] {
        guard let machine = leader else { return [] }
        leader = nil
        var actions: [Action] = []
        for id in writes.keys.sorted(by: { $0.value < $1.value }) {
            actions.append(.completeWrite(id, .unknown(Self.lostLeadership)))
        }
        writes = [:]
        for wait in conditionWaits { actions.append(.completeWrite(wait.id, .unknown(Self.lostLeadership))) }
        conditionWaits = []
        for held in heldFetches { actions.append(.answerFetch(held.id, .fenced(epoch: epoch), [])) }
        heldFetches = []
        for read in (confirmation?.reads ?? []) + awaitingConfirmation + confirmedReads {
            actions.append(.completeRead(read.id, .failure(.notLeader(nil))))
        }
        confirmation = nil
        awaitingConfirmation = []
        confirmedReads = []
        proposalSentAt = nil
        epochStartPending = false
        if logLast == logDurable {
            follower = PartitionFollower(
                me: me, epoch: epoch, history: history, last: logDurable, highWatermark: machine.highWatermark)
        } else {
            settling = Settling(epoch: epoch, leader: nil, highWatermark: machine.highWatermark)
        }
        actions.append(.roleChanged(leader: nil, epoch: epoch))
        return actions
    }

    /// Once the log has settled: a former leader starts following, a deferred election is
    /// taken up.
    mutating func settle(now: UInt64) -> [Action] {
        guard logLast == logDurable, truncating == nil, followerAppend == nil, install == nil else { return [] }
        var actions: [Action] = []
        if let settled = settling {
            settling = nil
            follower = PartitionFollower(
                me: me, epoch: settled.epoch, history: history, last: logDurable,
                highWatermark: settled.highWatermark)
            if let node = settled.leader {
                actions += performFollower(follower!.leaderElected(node, epoch: settled.epoch), now: now)
            }
        }
        if let won = deferredElection {
            actions += becomeLeader(won.epoch, inSync: won.inSync, leaseValidUntil: won.leaseValidUntil, now: now)
        }
        return actions
    }
}
