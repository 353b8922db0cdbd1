/// How a keyspace replicates its data (DESIGN section 3).
public enum ReplicationMode: String, Sendable, Codable, CaseIterable {
    /// Dynamo style: any replica accepts reads and writes, R and W per request.
    case leaderless
    /// One leader per partition elected through etcd, Kafka-style in-sync replicas.
    case leader
}

/// How concurrent writes to one key are resolved in a leaderless keyspace.
public enum ConflictPolicy: String, Sendable, Codable, CaseIterable {
    /// Dotted version vectors: concurrent values are kept as siblings.
    case vv
    /// Last write wins by hybrid logical clock timestamp: concurrent writes are dropped.
    case lww
}

/// A keyspace: a named set of keys with one replication mode and its defaults.
public struct Keyspace: Sendable, Codable, Equatable {
    public var name: KeyspaceName
    public var mode: ReplicationMode
    public var replicationFactor: Int
    public var conflict: ConflictPolicy
    /// The levels reads and writes use when a request names none.
    public var read: ConsistencyLevel
    public var write: ConsistencyLevel
    /// Whether writes that name no `sloppy` let fallbacks stand in for unreachable owners
    /// (sloppy quorum with hinted handoff). Off by default: a strict quorum counts owners
    /// only, which is what makes R + W > N read-your-writes.
    public var sloppy: Bool
    /// Leader mode: the in-sync replicas (leader included) an `ack=all` write needs;
    /// nil in a leaderless keyspace.
    public var minInSync: Int?
    /// Leader mode: the `ack` of writes that name none; nil in a leaderless keyspace.
    public var ack: LeaderAck?

    public init(
        name: KeyspaceName,
        mode: ReplicationMode = .leaderless,
        replicationFactor: Int = 1,
        conflict: ConflictPolicy = .lww,
        read: ConsistencyLevel = .quorum,
        write: ConsistencyLevel = .quorum,
        sloppy: Bool = false,
        minInSync: Int? = nil,
        ack: LeaderAck? = nil
    ) {
        self.sloppy = sloppy
        self.minInSync = minInSync
        self.ack = ack
        self.name = name
        self.mode = mode
        self.replicationFactor = replicationFactor
        self.conflict = conflict
        self.read = read
        self.write = write
    }

    enum CodingKeys: String, CodingKey {
        case name
        case mode
        case replicationFactor = "replication_factor"
        case conflict
        case read
        case write
        case sloppy
        case minInSync = "min_in_sync"
        case ack
    }

    /// Definitions stored before `sloppy` existed read back strict.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(KeyspaceName.self, forKey: .name)
        mode = try container.decode(ReplicationMode.self, forKey: .mode)
        replicationFactor = try container.decode(Int.self, forKey: .replicationFactor)
        conflict = try container.decode(ConflictPolicy.self, forKey: .conflict)
        read = try container.decode(ConsistencyLevel.self, forKey: .read)
        write = try container.decode(ConsistencyLevel.self, forKey: .write)
        sloppy = try container.decodeIfPresent(Bool.self, forKey: .sloppy) ?? false
        minInSync = try container.decodeIfPresent(Int.self, forKey: .minInSync)
        ack = try container.decodeIfPresent(LeaderAck.self, forKey: .ack)
    }

    /// Checks the definition against the cluster it is meant for.
    public func validate(nodeCount: Int) throws(RingstoreError) {
        guard replicationFactor >= 1 else {
            throw RingstoreError(.invalidKeyspaceDefinition, "replication_factor must be at least 1")
        }
        guard replicationFactor <= nodeCount else {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "replication_factor \(replicationFactor) exceeds the \(nodeCount) node(s) of this cluster"
            )
        }
        for (field, level) in [("read", read), ("write", write)]
        where level.required(replicas: replicationFactor) > replicationFactor {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "\(field) level '\(level)' needs more than the \(replicationFactor) replica(s) of this keyspace"
            )
        }
        switch mode {
        case .leaderless:
            guard minInSync == nil, ack == nil else {
                throw RingstoreError(
                    .invalidKeyspaceDefinition, "min_in_sync and ack apply to mode 'leader' only")
            }
        case .leader:
            guard let minInSync, ack != nil else {
                throw RingstoreError(.invalidKeyspaceDefinition, "a leader-mode keyspace needs min_in_sync and ack")
            }
            guard (1...replicationFactor).contains(minInSync) else {
                throw RingstoreError(
                    .invalidKeyspaceDefinition,
                    "min_in_sync must be from 1 to the replication_factor \(replicationFactor), not \(minInSync)")
            }
            guard !sloppy else {
                throw RingstoreError(
                    .invalidKeyspaceDefinition,
                    "sloppy applies to mode 'leaderless' only (leader mode has no fallbacks)")
            }
        }
    }
}

/// The body of `PUT /v1/keyspaces/{name}`: every field optional, defaults filled in.
public struct KeyspaceRequest: Sendable, Codable {
    public var mode: ReplicationMode?
    public var replicationFactor: Int?
    public var conflict: ConflictPolicy?
    public var read: ConsistencyLevel?
    public var write: ConsistencyLevel?
    public var sloppy: Bool?
    public var minInSync: Int?
    public var ack: LeaderAck?

    public init(
        mode: ReplicationMode? = nil, replicationFactor: Int? = nil, conflict: ConflictPolicy? = nil,
        read: ConsistencyLevel? = nil, write: ConsistencyLevel? = nil, sloppy: Bool? = nil, minInSync: Int? = nil,
        ack: LeaderAck? = nil
    ) {
        self.sloppy = sloppy
        self.minInSync = minInSync
        self.ack = ack
        self.mode = mode
        self.replicationFactor = replicationFactor
        self.conflict = conflict
        self.read = read
        self.write = write
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode
        case replicationFactor = "replication_factor"
        case conflict
        case read
        case write
        case sloppy
        case minInSync = "min_in_sync"
        case ack
    }

    /// The field names a definition may have.
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    /// The keyspace with defaults filled in: N is 3, or the node count when smaller
    /// (DESIGN section 3); conflicts resolve by LWW; reads and writes at quorum; strict
    /// quorums. A leader-mode keyspace acknowledges `ack=all` by default and needs two
    /// in-sync replicas (one when N is 1), so an acknowledged write survives one failure.
    public func keyspace(named name: KeyspaceName, nodeCount: Int) -> Keyspace {
        let mode = mode ?? .leaderless
        let factor = replicationFactor ?? min(3, max(1, nodeCount))
        let isLeader = mode == .leader
        return Keyspace(
            name: name,
            mode: mode,
            replicationFactor: factor,
            conflict: conflict ?? .lww,
            read: read ?? .quorum,
            write: write ?? .quorum,
            sloppy: sloppy ?? false,
            minInSync: minInSync ?? (isLeader ? min(2, max(1, factor)) : nil),
            ack: ack ?? (isLeader ? .all : nil)
        )
    }
}
