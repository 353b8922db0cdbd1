import Replication
import RingstoreCore

extension Node {
    /// Answers a request from a peer; `reply` is called exactly once, on any thread.
    /// What a peer sends is checked like what a client sends: a bad request gets a
    /// failure reply, never a crash.
    public func handle(_ request: PeerRequest, reply: @escaping @Sendable (PeerReply) -> Void) {
        switch request {
        case .merge(let keyspace, let key, let object):
            do throws(RingstoreError) {
                let placement = try placement(keyspace: keyspace, key: key)
                guard object.policy == placement.keyspace.conflict else {
                    throw RingstoreError(
                        .invalidParameter, "the object's conflict policy is not keyspace '\(keyspace)''s")
                }
                try mergeLocally(placement.storageKey, object) { error in
                    reply(error.map { PeerReply($0) } ?? .merged)
                }
            } catch {
                reply(PeerReply(error))
            }
        case .read(let keyspace, let key):
            do throws(RingstoreError) {
                let placement = try placement(keyspace: keyspace, key: key)
                reply(.object(try objects.object(placement.storageKey)))
            } catch {
                reply(PeerReply(error))
            }
        case .ping:
            reply(.pong)
        case .coordinateWrite(let write):
            self.write(write, forwarded: true) { result in
                switch result {
                case .success(let outcome): reply(.written(outcome))
                case .failure(let error): reply(PeerReply(error))
                }
            }
        }
    }
}
