import Replication
import RingstoreCore
import Synchronization

/// What a coordinated read found: the merged object (nil when no replica that answered
/// has the key), which replicas answered, how many were required, and who coordinated.
public struct ReadOutcome: Sendable, Equatable {
    public var object: ReplicaObject?
    public var answered: [NodeID]
    public var required: Int
    public var coordinator: NodeID
}

extension Node {
    public typealias ReadCompletion = @Sendable (Result<ReadOutcome, RingstoreError>) -> Void

    /// Coordinates a client's read: asks every owner (itself first when it is one),
    /// answers once the level's count of them answered with the merge of their objects, then repairs the owners whose
    /// answer lacked part of what the others had (read repair, after the answer).
    public func read(
        keyspace name: String, key: [UInt8], level: ConsistencyLevel?, timeoutMillis: UInt32,
        completion: @escaping ReadCompletion
    ) {
        let placement: Placement
        let required: Int
        do throws(RingstoreError) {
            placement = try self.placement(keyspace: name, key: key)
            required = try self.required(level ?? placement.keyspace.read, placement)
        } catch {
            completion(.failure(error))
            return
        }
        // The coordinator's own copy first: it is read synchronously while the machine
        // starts, so a read at r=1 on an owner is answered from its own copy.
        let replicas =
            placement.owners.contains(id) ? [id] + placement.owners.filter { $0 != id } : placement.owners
        let run = MachineRun(QuorumRead(replicas: replicas, required: required))
        let coordinator = id
        run.onAction = { [self] action in
            switch action {
            case .send(let node) where node == id:
                do throws(RingstoreError) {
                    run.handle(.answered(node, try objects.object(placement.storageKey)))
                } catch {
                    run.handle(.failed(node, reason: error.detail))
                }
            case .send(let node):
                environment.network.send(.read(keyspace: name, key: key), to: node, timeoutMillis: timeoutMillis) {
                    reply in
                    switch reply {
                    case .success(.object(let object)): run.handle(.answered(node, object))
                    case .success(.failed(_, let detail, _, _)): run.handle(.failed(node, reason: detail))
                    case .success: run.handle(.failed(node, reason: "answered out of turn"))
                    case .failure(let error): run.handle(.failed(node, reason: error.detail))
                    }
                }
            case .respond(.value(let object, let answered)):
                environment.metrics.readsSucceeded.increment()
                completion(
                    .success(
                        ReadOutcome(object: object, answered: answered, required: required, coordinator: coordinator)))
            case .respond(.failed(let required, let answered, let reasons)):
                environment.metrics.readsFailed.increment()
                completion(
                    .failure(
                        .missedLevel(
                            "the read", required: required, answered: answered.count, verb: "answered", reasons: reasons
                        )))
            case .repair(let node, let object):
                environment.metrics.readRepairs.increment()
                repair(node, keyspace: name, key: key, storageKey: placement.storageKey, object: object)
            }
        }
        run.start()
        run.armDeadline(environment.timers.after(millis: timeoutMillis) { run.handle(.deadlinePassed) })
    }

    /// The answer to a read when this node is the key's only replica, without a hop
    /// through timers; nil when replicas must be asked.
    public func readIfLocal(keyspace name: String, key: [UInt8], level: ConsistencyLevel?) throws(RingstoreError)
        -> ReadOutcome?
    {
        let placement = try placement(keyspace: name, key: key)
        guard placement.owners == [id] else { return nil }
        let required = try self.required(level ?? placement.keyspace.read, placement)
        return ReadOutcome(
            object: try objects.object(placement.storageKey), answered: [id], required: required, coordinator: id)
    }

    /// Sends `object` to `node` to merge; nobody waits for the answer.
    private func repair(_ node: NodeID, keyspace: String, key: [UInt8], storageKey: [UInt8], object: ReplicaObject) {
        let logger = logger
        if node == id {
            do throws(RingstoreError) {
                try mergeLocally(storageKey, object) { error in
                    if let error { logger.warning("read repair failed locally", metadata: ["error": "\(error)"]) }
                }
            } catch {
                logger.warning("read repair failed locally", metadata: ["error": "\(error)"])
            }
            return
        }
        environment.network.send(
            .merge(keyspace: keyspace, key: key, object: object), to: node, timeoutMillis: defaultTimeoutMillis
        ) { reply in
            if case .success(.merged) = reply { return }
            logger.debug("read repair was not applied", metadata: ["node": "\(node)", "reply": "\(reply)"])
        }
    }

    /// Merges an object from a peer (replication or repair) into this node's copy.
    func mergeLocally(
        _ storageKey: [UInt8], _ object: ReplicaObject, durable: @escaping @Sendable (RingstoreError?) -> Void
    ) throws(RingstoreError) {
        observe(object)
        try objects.update(
            storageKey,
            change: { current throws(RingstoreError) in
                guard let current else { return (object, ()) }
                guard current.policy == object.policy else {
                    throw RingstoreError(.invalidParameter, "the object's conflict policy differs from the stored one")
                }
                return (current.merged(with: object), ())
            }, durable: durable)
    }
}
