import Logging
import Replication
import RingstoreCore
import Synchronization

/// Writes a leader-mode replica on this node cut from its log when a newer leader's log
/// parted from it (`LeaderLogCut`), with the partition and wall-clock times: what a
/// failover lost. Only `ack=leader` writes may ever be among them.
public struct LeaderLoss: Sendable, Equatable {
    public var keyspace: String
    public var partition: Int
    public var cut: LeaderLogCut
    /// When this node appended the first and last of them (wall clock, ms since 1970), if
    /// it did so since it last started.
    public var writtenFromMillis: UInt64?
    public var writtenThroughMillis: UInt64?
    /// When the cut was made (wall clock, ms since 1970).
    public var cutAtMillis: UInt64
}

/// The recent losses of a node's leader-mode replicas, newest last, at most `capacity`.
public final class LeaderLosses: Sendable {
    public static let capacity = 64
    private let losses = Mutex<[LeaderLoss]>([])

    public init() {}

    public var recent: [LeaderLoss] { losses.withLock { $0 } }

    func record(_ loss: LeaderLoss) {
        losses.withLock { losses in
            losses.append(loss)
            if losses.count > Self.capacity { losses.removeFirst(losses.count - Self.capacity) }
        }
    }
}

extension Node {
    /// A replica of `keyspace`/`partition` cut entries from its log: log it, count it and
    /// keep it for `/v1/cluster`. `monotonicNow` is the replica's clock now (the cut's
    /// times are on it).
    public func leaderLogCut(
        _ cut: LeaderLogCut, keyspace: KeyspaceName, partition: Int, monotonicNow: UInt64
    ) {
        let wallNow = environment.wallMillis()
        func wall(_ instant: UInt64?) -> UInt64? {
            instant.map { wallNow - min(wallNow, monotonicNow - min(monotonicNow, $0)) }
        }
        let loss = LeaderLoss(
            keyspace: keyspace.name, partition: partition, cut: cut, writtenFromMillis: wall(cut.appendedFrom),
            writtenThroughMillis: wall(cut.appendedThrough), cutAtMillis: wallNow)
        leaderLosses.record(loss)
        environment.metrics.leaderLogCuts.increment()
        environment.metrics.leaderLogCutEntries.increment(by: cut.count)
        logger.warning(
            "a newer leader's log parts from this replica's: its uncommitted tail is cut (acknowledged ack=leader writes among it are lost)",
            metadata: [
                "keyspace": "\(keyspace)", "partition": "\(partition)", "epoch": "\(cut.epoch)",
                "first": "\(cut.first)", "last": "\(cut.last)", "entries": "\(cut.count)",
                "appendedMillisAgo": "\(cut.appendedFrom.map { monotonicNow - min(monotonicNow, $0) } ?? 0)",
            ])
    }
}
