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
        network.send(
            .leaderFetch(keyspace: keyspace.name, partition: partition, request), to: leader,
            timeoutMillis: timeoutMillis
        ) { result in
            switch result {
            case .success(.leaderFetched(let answer, let entries)):
                reply(.success((answer, entries)))
            case .success(.failed(_, let detail, _, _)):
                reply(.failure(RingstoreError(.unavailable, "\(leader) refused the fetch: \(detail)")))
            case .success:
                reply(.failure(RingstoreError(.unavailable, "\(leader) answered a fetch out of turn")))
            case .failure(let error):
                reply(.failure(error))
            }
        }
    }

    public func snapshot(
        from leader: NodeID, keyspace: KeyspaceName, partition: Int, _ request: SnapshotRequest,
        reply: @escaping @Sendable (Result<SnapshotReply, RingstoreError>) -> Void
    ) {
        network.send(
            .leaderSnapshot(keyspace: keyspace.name, partition: partition, request), to: leader,
            timeoutMillis: timeoutMillis
        ) { result in
            switch result {
            case .success(.leaderSnapshotPart(let answer)):
                reply(.success(answer))
            case .success(.failed(_, let detail, _, _)):
                reply(.failure(RingstoreError(.unavailable, "\(leader) refused the snapshot request: \(detail)")))
            case .success:
                reply(.failure(RingstoreError(.unavailable, "\(leader) answered a snapshot request out of turn")))
            case .failure(let error):
                reply(.failure(error))
            }
        }
    }
}
