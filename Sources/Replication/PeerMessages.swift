import RingstoreCore

/// What one node asks another (DESIGN section 4). Every request names the keyspace and
/// the key; the receiver checks both as it would a client's.
public enum PeerRequest: Sendable, Equatable {
    /// Merge `object` into your copy of the key and answer once it is durable: both
    /// replication of a coordinated write and read repair.
    case merge(keyspace: String, key: [UInt8], object: ReplicaObject)
    /// Send your copy of the key.
    case read(keyspace: String, key: [UInt8])
    /// Coordinate this client write for me: I am not a replica of the key, and only a
    /// replica may mint its dot.
    case coordinateWrite(ClientWrite)
    /// Are you there? (heartbeats for failure detection)
    case ping
    /// Keep `object` as a hint for `owner`, which did not answer, and hand it over once
    /// `owner` is reachable again (sloppy quorum); answer once the hint is durable.
    case hint(owner: NodeID, keyspace: String, key: [UInt8], object: ReplicaObject)
    /// Send the leaves of your hash tree of this partition of the keyspace (anti-entropy).
    case treeLeaves(keyspace: String, partition: Int)
    /// Send the digest of every key you hold in these buckets of the partition.
    case bucketDigests(keyspace: String, partition: Int, buckets: [Int])
    /// May this deleted key be purged? Send your object of it (if you own it) and whether
    /// you keep a hint for it.
    case tombstoneCheck(keyspace: String, key: [UInt8])
    /// Remove the key if your object of it is still `object` (its tombstones).
    case purge(keyspace: String, key: [UInt8], object: ReplicaObject)
    /// A leader-mode follower's fetch from the leader of a partition of the keyspace.
    case leaderFetch(keyspace: String, partition: Int, FetchRequest)
    /// A leader-mode follower's request for part of a partition snapshot.
    case leaderSnapshot(keyspace: String, partition: Int, SnapshotRequest)
    /// Write this for me: you lead the key's partition (leader mode).
    case leaderWrite(LeaderWriteRequest)
    /// Read this for me: you lead the key's partition, or hold a replica of it.
    case leaderRead(LeaderReadRequest)
    /// Send your objects of these storage keys of the keyspace (a partition moving to me:
    /// `PartitionTransfer`), as many as fit in a reply.
    case transferObjects(keyspace: String, keys: [[UInt8]])
}

/// A client's put (value non-nil) or delete, as the node that received it saw it.
public struct ClientWrite: Sendable, Equatable {
    public var keyspace: String
    public var key: [UInt8]
    public var value: [UInt8]?
    public var contentType: String?
    public var context: VersionVector?
    /// Replicas that must acknowledge; nil for the keyspace default.
    public var level: ConsistencyLevel?
    public var timeoutMillis: UInt32
    /// Whether fallbacks may stand in for unreachable owners; nil for the keyspace default.
    public var sloppy: Bool?

    public init(
        keyspace: String, key: [UInt8], value: [UInt8]?, contentType: String?, context: VersionVector?,
        level: ConsistencyLevel?, timeoutMillis: UInt32, sloppy: Bool? = nil
    ) {
        self.sloppy = sloppy
        self.keyspace = keyspace
        self.key = key
        self.value = value
        self.contentType = contentType
        self.context = context
        self.level = level
        self.timeoutMillis = timeoutMillis
    }
}

/// What a coordinated write achieved: the version of the sibling it made, the object's
/// causal context after it, which replicas acknowledged, how many were required, and the
/// owners whose copy a fallback keeps as a hint (sloppy quorum).
public struct WriteOutcome: Sendable, Equatable {
    public var version: StoredVersion
    public var context: VersionVector
    public var acknowledged: [NodeID]
    public var required: Int
    public var coordinator: NodeID
    public var hinted: [NodeID]

    public init(
        version: StoredVersion, context: VersionVector, acknowledged: [NodeID], required: Int, coordinator: NodeID,
        hinted: [NodeID] = []
    ) {
        self.hinted = hinted
        self.version = version
        self.context = context
        self.acknowledged = acknowledged
        self.required = required
        self.coordinator = coordinator
    }
}

/// A peer's answer.
public enum PeerReply: Sendable, Equatable {
    case merged
    case object(ReplicaObject?)
    case written(WriteOutcome)
    case pong
    case leaves([UInt64])
    /// Storage keys (`keyspace 0x00 key`) to object digests.
    case digests([[UInt8]: UInt64])
    case tombstoneState(object: ReplicaObject?, keepsHint: Bool)
    /// The leader's answer to a fetch, with the entries it carries.
    case leaderFetched(FetchReply, [LeaderEntry])
    /// The leader's answer to a snapshot request.
    case leaderSnapshotPart(SnapshotReply)
    /// A leader-mode write was acknowledged at this position by this leader.
    case leaderWritten(LogPosition, leader: NodeID)
    /// A leader-mode read's answer.
    case leaderValue(LeaderValue)
    /// Objects of a transfer, by storage key, in the order asked (nil: the peer holds
    /// none); a prefix of the keys asked when the rest would not fit.
    case transferred([TransferredObject])
    /// The request failed on the peer; `error` says why, as it would to a client.
    case failed(code: String, detail: String, required: Int?, answered: Int?)

    public init(_ error: RingstoreError) {
        self = .failed(code: error.code.name, detail: error.detail, required: error.required, answered: error.answered)
    }
}

/// One key's object in a partition transfer: its storage key and the sender's object of
/// it (nil when the sender holds none).
public struct TransferredObject: Sendable, Equatable {
    public var storageKey: [UInt8]
    public var object: ReplicaObject?

    public init(storageKey: [UInt8], object: ReplicaObject?) {
        self.storageKey = storageKey
        self.object = object
    }
}
