import Replication
import RingstoreCore
import Synchronization

extension Node {
    /// Called once with what a write achieved, or why it failed; may run on any thread.
    public typealias WriteCompletion = @Sendable (Result<WriteOutcome, RingstoreError>) -> Void

    /// Coordinates a client's put or delete (DESIGN section 4). A replica of the key
    /// mints the new sibling, stores it, and sends the resulting object to the other
    /// owners; the write succeeds once the level's count of owners made it durable. A
    /// node that is not a replica forwards a `vv` write to one (only replicas mint dots)
    /// and coordinates an `lww` write itself. Bad input fails before anything is stored.
    public func write(_ request: ClientWrite, forwarded: Bool = false, completion: @escaping WriteCompletion) {
        let placement: Placement
        let required: Int
        do throws(RingstoreError) {
            placement = try self.placement(keyspace: request.keyspace, key: request.key)
            if let value = request.value, value.count > limits.valueBytesMax {
                throw RingstoreError(
                    .valueTooLarge, "value is \(value.count) bytes; the limit is \(limits.valueBytesMax) bytes")
            }
            if let contentType = request.contentType, contentType.utf8.count > limits.contentTypeBytesMax {
                throw RingstoreError(
                    .invalidParameter, "Content-Type is longer than \(limits.contentTypeBytesMax) bytes")
            }
            required = try self.required(request.level ?? placement.keyspace.write, placement)
        } catch {
            completion(.failure(error))
            return
        }
        let isOwner = placement.owners.contains(id)
        if placement.keyspace.conflict == .vv && !isOwner {
            guard !forwarded else {
                completion(
                    .failure(
                        RingstoreError(
                            .unavailable, "a write was forwarded to \(id), which does not replicate the key either")))
                return
            }
            environment.metrics.forwardedWrites.increment()
            // Owners the failure detector suspects go last (a stable partition keeps ring order).
            let network = environment.network
            let ordered =
                placement.owners.filter { !network.isSuspected($0) }
                + placement.owners.filter { network.isSuspected($0) }
            forward(request, to: ordered, completion: completion)
            return
        }
        coordinate(request, placement: placement, required: required, completion: completion)
    }

    /// Forwards to the owners in preference order until one answers.
    private func forward(_ request: ClientWrite, to owners: [NodeID], completion: @escaping WriteCompletion) {
        guard let first = owners.first else {
            completion(
                .failure(RingstoreError(.unavailable, "no replica of the key could coordinate the write", answered: 0)))
            return
        }
        environment.network.send(.coordinateWrite(request), to: first, timeoutMillis: request.timeoutMillis) {
            [self] reply in
            switch reply {
            case .success(.written(let outcome)): completion(.success(outcome))
            case .success(.failed(let code, let detail, let required, let answered)):
                completion(.failure(RingstoreError(.named(code), detail, required: required, answered: answered)))
            case .success: completion(.failure(RingstoreError(.unavailable, "\(first) answered out of turn")))
            case .failure(let error):
                logger.debug("forwarding a write failed", metadata: ["to": "\(first)", "error": "\(error)"])
                forward(request, to: Array(owners.dropFirst()), completion: completion)
            }
        }
    }

    private func coordinate(
        _ request: ClientWrite, placement: Placement, required: Int, completion: @escaping WriteCompletion
    ) {
        let policy = placement.keyspace.conflict
        let context = request.context ?? .empty
        // A pending or outgoing owner keeps its copy too (its acknowledgement does not count).
        let isOwner = placement.owners.contains(id) || placement.uncounted.contains(id)
        let sloppy = request.sloppy ?? placement.keyspace.sloppy
        let network = environment.network
        let run = MachineRun(
            QuorumWrite(
                replicas: placement.owners, required: required, uncounted: placement.uncounted,
                fallbacks: sloppy
                    ? Array(ring.preferenceList(placement.partition).dropFirst(placement.owners.count)) : [],
                suspected: sloppy ? Set(placement.owners.filter { $0 != id && network.isSuspected($0) }) : []))
        let minted: (object: ReplicaObject, sibling: Sibling)
        do throws(RingstoreError) {
            let make = { [self] (current: ReplicaObject?) throws(RingstoreError) -> (ReplicaObject, Sibling) in
                let base = current ?? ReplicaObject(policy: policy)
                let (object, sibling) = base.updated(
                    value: request.value, contentType: request.contentType, timestamp: nextTimestamp(after: current),
                    context: context, replica: actor, counterFloor: lastMinted.current)
                if object.liveSiblings.count > limits.siblingsMax {
                    throw RingstoreError(
                        .tooManySiblings,
                        "the key would have \(object.liveSiblings.count) siblings; the limit is \(limits.siblingsMax). Read it and write with its X-Ringstore-Context to resolve them"
                    )
                }
                if policy == .vv { lastMinted.max(sibling.dot.counter) }
                return (object, sibling)
            }
            if isOwner {
                let localDone = { @Sendable [id] (error: RingstoreError?) in
                    run.handle(error.map { .rejected(id, reason: $0.detail) } ?? .accepted(id))
                }
                minted = try objects.update(
                    placement.storageKey,
                    change: { (current) throws(RingstoreError) in
                        let (object, sibling) = try make(current)
                        return (object, (object, sibling))
                    }, durable: localDone)
            } else {
                minted = try make(nil)
            }
        } catch {
            completion(.failure(error))
            return
        }
        let coordinator = id
        run.onAction = { [self] action in
            switch action {
            case .send(let node) where node == id:
                break  // stored above; its durability arrives as an event
            case .send(let node):
                replicate(
                    .merge(keyspace: request.keyspace, key: request.key, object: minted.object), to: node,
                    timeoutMillis: request.timeoutMillis, run: run)
            case .sendHint(let node, let owner) where node == id:
                storeHint(for: owner, keyspace: request.keyspace, key: request.key, object: minted.object) { error in
                    run.handle(error.map { .rejected(node, reason: $0.detail) } ?? .accepted(node))
                }
            case .sendHint(let node, let owner):
                replicate(
                    .hint(owner: owner, keyspace: request.keyspace, key: request.key, object: minted.object), to: node,
                    timeoutMillis: request.timeoutMillis, run: run)
            case .respond(.succeeded(let acknowledged, let hinted)):
                environment.metrics.writesSucceeded.increment()
                completion(
                    .success(
                        WriteOutcome(
                            version: minted.sibling.version, context: minted.object.clock, acknowledged: acknowledged,
                            required: required, coordinator: coordinator, hinted: hinted)))
            case .respond(.failed(let required, let acknowledged, let reasons)):
                environment.metrics.writesFailed.increment()
                completion(
                    .failure(
                        .missedLevel(
                            "the write", required: required, answered: acknowledged.count, verb: "acknowledged",
                            reasons: reasons, note: "; it may still be applied on those that did")))
            }
        }
        run.start()
        run.armDeadline(environment.timers.after(millis: request.timeoutMillis) { run.handle(.deadlinePassed) })
    }

    /// Sends a write's object to a replica (or a hint to a fallback) and reports the answer.
    private func replicate(
        _ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32, run: MachineRun<QuorumWrite>
    ) {
        environment.network.send(request, to: node, timeoutMillis: timeoutMillis) { reply in
            switch reply {
            case .success(.merged): run.handle(.accepted(node))
            case .success(.failed(_, let detail, _, _)): run.handle(.rejected(node, reason: detail))
            case .success: run.handle(.rejected(node, reason: "answered out of turn"))
            case .failure(let error): run.handle(.rejected(node, reason: error.detail))
            }
        }
    }
}
