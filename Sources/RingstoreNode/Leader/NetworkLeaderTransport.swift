import Replication
import RingstoreCore

/// Fetches entries and snapshot parts from a partition's leader over the node's peer
/// network (`leaderFetch` and `leaderSnapshot` frames). A leader holds a fetch up to half a second, so the deadline leaves room for it.
public struct NetworkLeaderTransport: LeaderTransport {
    let network: any PeerNetwork
    let timeoutMillis: UInt32

    public init(network: any PeerNetwork, timeoutMillis: UInt32 = 2000) {
        self.network = network
        self.timeoutMillis = timeoutMillis
    }

    public func fetch(
        from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: FetchRequest,
        reply: @escaping @Sendable (Result<(FetchReply, [LeaderEntry]), RingstoreError>) -> Void
    ) {
        ask(leader, .leaderFetch(keyspace: keyspace.name, partition: partition, request), what: "fetch") {
            guard case .leaderFetched(let answer, let entries) = $0 else { return nil }
            return (answer, entries)
        } reply: {
            reply($0)
        }
    }

    public func snapshot(
        from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
        reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void
    ) {
        ask(leader, .leaderSnapshot(keyspace: keyspace.name, partition: partition, request), what: "snapshot request") {
            guard case .leaderSnapshotPart(let answer) = $0 else { return nil }
            return answer
        } reply: {
            reply($0)
        }
    }

    /// Sends `request` to `leader`; `expected` picks the answer out of the reply it should
    /// get (nil: a reply out of turn).
    private func ask<Answer: Sendable>(
        _ leader: NodeID, _ request: PeerRequest, what: String,
        expected: @escaping @Sendable (PeerReply) -> Answer?,
        reply: @escaping @Sendable (Result<Answer, RingstoreError>) -> Void
    ) {
        network.send(request, to: leader, timeoutMillis: timeoutMillis) { result in
            switch result {
            case .success(let answer):
                if let expected = expected(answer) { return reply(.success(expected)) }
                if case .failed(_, let detail, _, _) = answer {
                    return reply(.failure(RingstoreError(.unavailable, "\(leader) refused the \(what): \(detail)")))
                }
                reply(.failure(RingstoreError(.unavailable, "\(leader) answered a \(what) out of turn")))
            case .failure(let error):
                reply(.failure(error))
            }
        }
    }
}
