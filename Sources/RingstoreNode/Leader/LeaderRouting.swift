import Replication
import RingstoreCore

/// A leader-mode write acknowledged: its token (the version of the value it wrote) and
/// the leader that acknowledged it.
public struct LeaderWritten: Sendable, Equatable {
    public var position: LogPosition
    public var leader: NodeID
}

extension Node {
    /// Writes through the partition's leader: this node's replica when it leads, else the
    /// leader etcd names (once: a request that was sent on is not sent on again).
    public func leaderWrite(_ received: LeaderWriteRequest, forwarded: Bool = false) async throws(RingstoreError)
        -> LeaderWritten
    {
        var clamped = received
        clamped.timeoutMillis = min(received.timeoutMillis, Self.timeoutMillisMax)  // a peer may send anything
        let request = clamped
        let placement = try leaderPlacement(keyspace: request.keyspace, key: request.key)
        let partition = placement.partition.index
        let ack = request.ack ?? placement.keyspace.ack ?? .all
        var leader = leaderReplicas.leader(keyspace: request.keyspace, partition: partition)?.node
        if let replica = leaderReplicas.replica(keyspace: request.keyspace, partition: partition) {
            let outcome = await replica.write(
                key: request.key, value: request.value, ack: ack, condition: request.condition,
                timeoutMillis: request.timeoutMillis)
            switch outcome {
            case .written(let position):
                return LeaderWritten(position: position, leader: id)
            case .notLeader(let known):
                leader = known ?? leader
            case .refused(.notLeader):
                break
            case .refused(.notEnoughInSync(let inSync, let required)):
                throw RingstoreError(
                    .unavailable,
                    "not enough in-sync replicas: \(inSync) of the \(required) min_in_sync needs; nothing was written",
                    required: required, answered: inSync)
            case .refused(.notEnoughInSyncAfterAppend(let inSync, let required)):
                throw RingstoreError(
                    .outcomeUnknown,
                    "the in-sync replicas fell to \(inSync) of the \(required) min_in_sync needs after the leader stored the write; it may or may not survive",
                    required: required, answered: inSync)
            case .refused(.leaseExpired):
                throw RingstoreError(
                    .unavailable, "the leader could not renew its etcd lease in time; nothing was written, retry")
            case .conditionFailed(let current):
                throw RingstoreError(
                    .preconditionFailed,
                    current.map { "the key's current version is \($0)" } ?? "the key has no value")
            case .unknown(let reason):
                throw RingstoreError(
                    .outcomeUnknown, "the leader stored the write but could not acknowledge it (\(reason))")
            }
        }
        guard !forwarded, let leader, leader != id else {
            throw noLeader(placement)
        }
        let reply = await send(.leaderWrite(request), to: leader, timeoutMillis: request.timeoutMillis)
        switch reply {
        case .success(.leaderWritten(let position, let leader)):
            return LeaderWritten(position: position, leader: leader)
        case .success(.failed(let code, let detail, let required, let answered)):
            throw RingstoreError(.named(code), detail, required: required, answered: answered)
        case .success:
            throw RingstoreError(.outcomeUnknown, "\(leader) answered the write out of turn")
        case .failure(let error):
            throw RingstoreError(
                .outcomeUnknown, "the leader \(leader) did not answer (\(error.detail)); the write may have happened")
        }
    }

    /// Reads at the request's level: a follower read from this node's replica, the
    /// others (and a follower read where this node holds no replica) from the leader.
    public func leaderRead(_ received: LeaderReadRequest, forwarded: Bool = false) async throws(RingstoreError)
        -> LeaderValue
    {
        var clamped = received
        clamped.timeoutMillis = min(received.timeoutMillis, Self.timeoutMillisMax)
        let request = clamped
        let placement = try leaderPlacement(keyspace: request.keyspace, key: request.key)
        let partition = placement.partition.index
        var leader = leaderReplicas.leader(keyspace: request.keyspace, partition: partition)?.node
        if let replica = leaderReplicas.replica(keyspace: request.keyspace, partition: partition) {
            let result = await replica.read(
                key: request.key, level: request.level, after: request.after,
                waitMillis: UInt64(request.timeoutMillis))
            switch result {
            case .success(let found):
                return LeaderValue(value: found.value, position: found.position, replica: id)
            case .failure(.notLeader(let known)):
                leader = known ?? leader
            case .failure(.timedOut):
                throw RingstoreError(
                    .unavailable,
                    request.after.map { "this replica had not applied \($0) within \(request.timeoutMillis) ms" }
                        ?? "the leader could not serve a \(request.level) read within \(request.timeoutMillis) ms")
            case .failure(.tokenLost(let position)):
                throw RingstoreError(
                    .tokenLost, "the write \(position) is not in the partition's log: it was lost with its leader")
            case .failure(.storage):
                throw RingstoreError(.storage, "the partition's log could not be read")
            }
        }
        guard !forwarded, let leader, leader != id else {
            throw noLeader(placement)
        }
        let reply = await send(.leaderRead(request), to: leader, timeoutMillis: request.timeoutMillis + 200)
        switch reply {
        case .success(.leaderValue(let value)):
            return value
        case .success(.failed(let code, let detail, let required, let answered)):
            throw RingstoreError(.named(code), detail, required: required, answered: answered)
        case .success:
            throw RingstoreError(.unavailable, "\(leader) answered the read out of turn")
        case .failure(let error):
            throw RingstoreError(.unavailable, "the leader \(leader) did not answer the read (\(error.detail))")
        }
    }

    /// The longest a leader-mode request waits (the HTTP API's `timeout` limit).
    static let timeoutMillisMax: UInt32 = 60_000

    private func leaderPlacement(keyspace: String, key: [UInt8]) throws(RingstoreError) -> Placement {
        try placement(keyspace: keyspace, key: key, mode: .leader)
    }

    private func noLeader(_ placement: Placement) -> RingstoreError {
        RingstoreError(
            .unavailable,
            "partition \(placement.partition.index) of keyspace '\(placement.keyspace.name)' has no leader this node can reach yet; nothing was done, retry"
        )
    }

    private func send(_ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32) async -> Result<
        PeerReply, RingstoreError
    > {
        await withCheckedContinuation { continuation in
            environment.network.send(request, to: node, timeoutMillis: timeoutMillis) {
                continuation.resume(returning: $0)
            }
        }
    }
}
