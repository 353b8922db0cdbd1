/// When a leader-mode write is acknowledged (DESIGN section 6): the `ack` of a request
/// or a keyspace's default.
public enum LeaderAck: String, Sendable, Codable, CaseIterable {
    /// Once the leader's log has it durably (async replication: it may be lost if the
    /// leader dies before a follower fetched it).
    case leader
    /// Once every in-sync replica has it durably (sync replication).
    case all

    /// Parses a request's `ack` parameter.
    public init(parsing text: String) throws(RingstoreError) {
        guard let ack = LeaderAck(rawValue: text) else {
            throw RingstoreError(.invalidParameter, "ack is 'leader' or 'all', not '\(text)'")
        }
        self = ack
    }
}
