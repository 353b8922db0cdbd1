/// How a keyspace replicates its data (DESIGN section 3).
public enum ReplicationMode: String, Sendable, Codable, CaseIterable {
    /// Dynamo style: any replica accepts reads and writes, R and W per request.
    case leaderless
    /// One leader per partition elected through etcd (a later issue).
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

    public init(
        name: KeyspaceName,
        mode: ReplicationMode = .leaderless,
        replicationFactor: Int = 1,
        conflict: ConflictPolicy = .lww,
        read: ConsistencyLevel = .quorum,
        write: ConsistencyLevel = .quorum,
        sloppy: Bool = false
    ) {
        self.sloppy = sloppy
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
        if mode == .leader {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "mode 'leader' is not available yet (one leader per partition comes with leader mode); use 'leaderless'"
            )
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

    public init(
        mode: ReplicationMode? = nil, replicationFactor: Int? = nil, conflict: ConflictPolicy? = nil,
        read: ConsistencyLevel? = nil, write: ConsistencyLevel? = nil, sloppy: Bool? = nil
    ) {
        self.sloppy = sloppy
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
    }

    /// The field names a definition may have.
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    /// The keyspace with defaults filled in: N is 3, or the node count when smaller
    /// (DESIGN section 3); conflicts resolve by LWW; reads and writes at quorum; strict
    /// quorums.
    public func keyspace(named name: KeyspaceName, nodeCount: Int) -> Keyspace {
        Keyspace(
            name: name,
            mode: mode ?? .leaderless,
            replicationFactor: replicationFactor ?? min(3, max(1, nodeCount)),
            conflict: conflict ?? .lww,
            read: read ?? .quorum,
            write: write ?? .quorum,
            sloppy: sloppy ?? false
        )
    }
}
