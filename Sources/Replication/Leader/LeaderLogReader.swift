import RingstoreCore

/// Reads a partition replica's durable log (etcd raft's `Storage`, read synchronously by
/// the state machine): the server's `PartitionLog` over its store, the simulator's
/// simulated disk. Only entries already reported durable are asked for.
public protocol LeaderLogReader: Sendable {
    /// Entries `from...through`, stopping once more than `bytesMax` bytes of values and
    /// keys were read (the first entry always comes).
    func entries(from: UInt64, through: UInt64, bytesMax: Int) throws(RingstoreError) -> [LeaderEntry]
}
