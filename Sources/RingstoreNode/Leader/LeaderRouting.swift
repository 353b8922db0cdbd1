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
    /// `completion` runs once, on whichever thread brings the answer (no task is started:
    /// the HTTP and peer handlers call this directly).
    public func leaderWrite(
        _ received: LeaderWriteRequest, forwarded: Bool = false,
        completion: @escaping @Sendable (Result<LeaderWritten, RingstoreError>) -> Void
    ) {
        var request = received
        request.timeoutMillis = min(received.timeoutMillis, Self.timeoutMillisMax)  // a peer may send anything
        let placement: Placement
        do throws(RingstoreError) {
            placement = try leaderPlacement(keyspace: request.keyspace, key: request.key)
        } catch {
            return completion(.failure(error))
        }
        let partition = placement.partition.index
        let ack = request.ack ?? placement.keyspace.ack ?? .all
        let named = leaderReplicas.leader(keyspace: request.keyspace, partition: partition)?.node
        guard let replica = leaderReplicas.replica(keyspace: request.keyspace, partition: partition) else {
            return forwardWrite(request, to: named, forwarded: forwarded, placement, completion)
        }
        let sent = request
        replica.write(
            key: request.key, value: request.value, ack: ack, condition: request.condition,
            timeoutMillis: request.timeoutMillis
        ) { [self] outcome in
            switch outcome {
            case .written(let position):
                completion(.success(LeaderWritten(position: position, leader: id)))
            case .notLeader(let known):
                forwardWrite(sent, to: known ?? named, forwarded: forwarded, placement, completion)
            case .refused(.notLeader):
                forwardWrite(sent, to: named, forwarded: forwarded, placement, completion)
            case .refused(.notEnoughInSync(let inSync, let required)):
                completion(
                    .failure(
                        RingstoreError(
                            .unavailable,
                            "not enough in-sync replicas: \(inSync) of the \(required) min_in_sync needs; nothing was written",
                            required: required, answered: inSync)))
            case .refused(.notEnoughInSyncAfterAppend(let inSync, let required)):
                completion(
                    .failure(
                        RingstoreError(
                            .outcomeUnknown,
                            "the in-sync replicas fell to \(inSync) of the \(required) min_in_sync needs after the leader stored the write; it may or may not survive",
                            required: required, answered: inSync)))
            case .refused(.stateUnreadable):
                completion(
                    .failure(
                        RingstoreError(.storage, "the partition's state could not be read; nothing was written")))
            case .refused(.leaseExpired):
                completion(
                    .failure(
                        RingstoreError(
                            .unavailable,
                            "the leader could not renew its etcd lease in time; nothing was written, retry")))
            case .conditionFailed(let current):
                completion(
                    .failure(
                        RingstoreError(
                            .preconditionFailed,
                            current.map { "the key's current version is \($0)" } ?? "the key has no value")))
            case .unknown(let reason):
                completion(
                    .failure(
                        RingstoreError(
                            .outcomeUnknown, "the leader stored the write but could not acknowledge it (\(reason))")))
            }
        }
    }

    public func leaderWrite(_ request: LeaderWriteRequest, forwarded: Bool = false) async throws(RingstoreError)
        -> LeaderWritten
    {
        try await withCheckedContinuation { continuation in
            leaderWrite(request, forwarded: forwarded) { continuation.resume(returning: $0) }
        }.get()
    }

    private func forwardWrite(
        _ request: LeaderWriteRequest, to leader: NodeID?, forwarded: Bool, _ placement: Placement,
        _ completion: @escaping @Sendable (Result<LeaderWritten, RingstoreError>) -> Void
    ) {
        guard !forwarded, let leader, leader != id else { return completion(.failure(noLeader(placement))) }
        environment.network.send(.leaderWrite(request), to: leader, timeoutMillis: request.timeoutMillis) { reply in
            switch reply {
            case .success(.leaderWritten(let position, let leader)):
                completion(.success(LeaderWritten(position: position, leader: leader)))
            case .success(.failed(let code, let detail, let required, let answered)):
                completion(.failure(RingstoreError(.named(code), detail, required: required, answered: answered)))
            case .success:
                completion(.failure(RingstoreError(.outcomeUnknown, "\(leader) answered the write out of turn")))
            case .failure(let error):
                completion(
                    .failure(
                        RingstoreError(
                            .outcomeUnknown,
                            "the leader \(leader) did not answer (\(error.detail)); the write may have happened")))
            }
        }
    }

    /// Reads at the request's level: a follower read from this node's replica, the
    /// others (and a follower read where this node holds no replica) from the leader.
    /// `completion` runs once, on whichever thread brings the answer.
    public func leaderRead(
        _ received: LeaderReadRequest, forwarded: Bool = false,
        completion: @escaping @Sendable (Result<LeaderValue, RingstoreError>) -> Void
    ) {
        var request = received
        request.timeoutMillis = min(received.timeoutMillis, Self.timeoutMillisMax)
        let placement: Placement
        do throws(RingstoreError) {
            placement = try leaderPlacement(keyspace: request.keyspace, key: request.key)
        } catch {
            return completion(.failure(error))
        }
        let partition = placement.partition.index
        let named = leaderReplicas.leader(keyspace: request.keyspace, partition: partition)?.node
        guard let replica = leaderReplicas.replica(keyspace: request.keyspace, partition: partition) else {
            return forwardRead(request, to: named, forwarded: forwarded, placement, completion)
        }
        let sent = request
        replica.read(
            key: request.key, level: request.level, after: request.after, waitMillis: UInt64(request.timeoutMillis)
        ) { [self] result in
            switch result {
            case .success(let found):
                completion(.success(LeaderValue(value: found.value, position: found.position, replica: id)))
            case .failure(.notLeader(let known)):
                forwardRead(sent, to: known ?? named, forwarded: forwarded, placement, completion)
            case .failure(.timedOut):
                completion(
                    .failure(
                        RingstoreError(
                            .unavailable,
                            sent.after.map { "this replica had not applied \($0) within \(sent.timeoutMillis) ms" }
                                ?? "the leader could not serve a \(sent.level) read within \(sent.timeoutMillis) ms")))
            case .failure(.tokenLost(let position)):
                completion(
                    .failure(
                        RingstoreError(
                            .tokenLost,
                            "the write \(position) is not in the partition's history: it was lost with its leader")))
            case .failure(.storage):
                completion(.failure(RingstoreError(.storage, "the partition's log or state could not be read")))
            case .failure(.installingSnapshot):
                completion(
                    .failure(
                        RingstoreError(
                            .unavailable,
                            "this replica is installing a snapshot of the partition and has no state to read yet; read from the leader"
                        )
                    ))
            }
        }
    }

    public func leaderRead(_ request: LeaderReadRequest, forwarded: Bool = false) async throws(RingstoreError)
        -> LeaderValue
    {
        try await withCheckedContinuation { continuation in
            leaderRead(request, forwarded: forwarded) { continuation.resume(returning: $0) }
        }.get()
    }

    private func forwardRead(
        _ request: LeaderReadRequest, to leader: NodeID?, forwarded: Bool, _ placement: Placement,
        _ completion: @escaping @Sendable (Result<LeaderValue, RingstoreError>) -> Void
    ) {
        guard !forwarded, let leader, leader != id else { return completion(.failure(noLeader(placement))) }
        environment.network.send(.leaderRead(request), to: leader, timeoutMillis: request.timeoutMillis + 200) {
            reply in
            switch reply {
            case .success(.leaderValue(let value)):
                completion(.success(value))
            case .success(.failed(let code, let detail, let required, let answered)):
                completion(.failure(RingstoreError(.named(code), detail, required: required, answered: answered)))
            case .success:
                completion(.failure(RingstoreError(.unavailable, "\(leader) answered the read out of turn")))
            case .failure(let error):
                completion(
                    .failure(
                        RingstoreError(.unavailable, "the leader \(leader) did not answer the read (\(error.detail))")))
            }
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
}
