import Logging
import Replication
import RingstoreCore

/// What a leader-mode replica's shell reports of the snapshots it serves and installs.
public enum LeaderSnapshotProgress: Sendable, Equatable {
    /// A follower began installing a snapshot (its state and log were wiped).
    case begun
    /// A follower stored a part of `items` keys and `bytes` of keys and values.
    case partStored(items: Int, bytes: Int)
    /// A follower's install completed: its state is whole as of `base`.
    case installed(base: LogPosition)
    /// A leader sent a part of `bytes` of keys and values.
    case partServed(bytes: Int)
}

extension Node {
    /// A replica of `keyspace`/`partition` moved a snapshot on: count it, and log the
    /// beginning and end of an install.
    public func leaderSnapshot(_ progress: LeaderSnapshotProgress, keyspace: KeyspaceName, partition: Int) {
        let metrics = environment.metrics
        switch progress {
        case .begun:
            metrics.leaderSnapshotsBegun.increment()
            logger.info(
                "installing a snapshot of a leader-mode partition: its entries were trimmed from the leader's log",
                metadata: ["keyspace": "\(keyspace)", "partition": "\(partition)"])
        case .partStored(_, let bytes):
            metrics.leaderSnapshotBytesReceived.increment(by: bytes)
        case .installed(let base):
            metrics.leaderSnapshotsInstalled.increment()
            logger.info(
                "installed a snapshot of a leader-mode partition",
                metadata: ["keyspace": "\(keyspace)", "partition": "\(partition)", "base": "\(base)"])
        case .partServed(let bytes):
            metrics.leaderSnapshotBytesSent.increment(by: bytes)
        }
    }
}
