/// One value of a key as a replica keeps it: the dot of the write that made it, the
/// write's hybrid timestamp, and the value (nil for a delete: a tombstone).
public struct Sibling: Hashable, Sendable {
    public var dot: Dot
    public var timestamp: HybridTimestamp
    public var value: [UInt8]?
    public var contentType: String?

    public init(dot: Dot, timestamp: HybridTimestamp, value: [UInt8]?, contentType: String?) {
        self.dot = dot
        self.timestamp = timestamp
        self.value = value
        self.contentType = value == nil ? nil : contentType
    }

    public var isTombstone: Bool { value == nil }

    /// The version clients see in `X-Ringstore-Version`.
    public var version: StoredVersion { StoredVersion(timestamp: timestamp, node: dot.node) }
}

/// Everything a replica stores for one key, and the merge every replica applies.
///
/// `vv` keys keep a dotted version vector set (Preguiça et al.; Riak 2's dvvset): the
/// concurrent values (siblings), each tagged with the dot of the write that made it,
/// and a version vector summarizing every write seen. A write carrying the vector a
/// client read removes exactly the siblings that vector covers; one without adds a
/// sibling. Merging two objects keeps a sibling unless the other side has seen its dot
/// and dropped it, so merges are commutative, associative and idempotent: replicas
/// converge whatever order replication, repair and duplicates arrive in.
///
/// `lww` keys keep one value: the highest (timestamp, node) wins; concurrent writes
/// with lower timestamps are dropped.
public struct ReplicaObject: Hashable, Sendable {
    public static let formatVersion: UInt8 = 1

    public private(set) var policy: ConflictPolicy
    /// Sorted by dot.
    public private(set) var siblings: [Sibling]
    /// Every dot this object has seen (empty for `lww`).
    public private(set) var clock: VersionVector

    public init(policy: ConflictPolicy, siblings: [Sibling] = [], clock: VersionVector = .empty) {
        self.policy = policy
        self.siblings = siblings.sorted { $0.dot < $1.dot }
        self.clock = clock
    }

    /// The values a read returns: tombstones left out.
    public var liveSiblings: [Sibling] { siblings.filter { !$0.isTombstone } }

    /// What a client sends back with its next write of this key.
    public var context: CausalContext { CausalContext(clock: clock) }

    /// The write a replica coordinating a client's put or delete applies: a new sibling
    /// with a dot minted by `replica`, its counter above `counterFloor` too. For `vv` it
    /// replaces the siblings `context` covers and keeps the others; for `lww` it replaces
    /// the value if it is newer.
    public func updated(
        value: [UInt8]?, contentType: String?, timestamp: HybridTimestamp, context: VersionVector,
        replica: NodeID, counterFloor: UInt64 = 0
    ) -> (object: ReplicaObject, sibling: Sibling) {
        switch policy {
        case .vv:
            let counter = max(clock[replica], context[replica], counterFloor) + 1
            let sibling = Sibling(
                dot: Dot(node: replica, counter: counter), timestamp: timestamp, value: value, contentType: contentType)
            var newClock = clock.merged(with: context)
            newClock[replica] = counter
            let kept = siblings.filter { !context.covers($0.dot) }
            return (ReplicaObject(policy: .vv, siblings: kept + [sibling], clock: newClock), sibling)
        case .lww:
            let sibling = Sibling(
                dot: Dot(node: replica, counter: 0), timestamp: timestamp, value: value, contentType: contentType)
            return (merged(with: ReplicaObject(policy: .lww, siblings: [sibling])), sibling)
        }
    }

    /// The join of two replicas' states of the same key.
    public func merged(with other: ReplicaObject) -> ReplicaObject {
        switch policy {
        case .lww:
            let all = siblings + other.siblings
            let winner = all.max { ReplicaObject.lwwOrder($0, $1) }
            return ReplicaObject(policy: .lww, siblings: winner.map { [$0] } ?? [])
        case .vv:
            let mine = Set(siblings.map(\.dot))
            let theirs = Set(other.siblings.map(\.dot))
            let keptMine = siblings.filter { theirs.contains($0.dot) || !other.clock.covers($0.dot) }
            let keptTheirs = other.siblings.filter { !mine.contains($0.dot) && !clock.covers($0.dot) }
            return ReplicaObject(policy: .vv, siblings: keptMine + keptTheirs, clock: clock.merged(with: other.clock))
        }
    }

    /// LWW order: timestamp, then the writing node as the tie-break, then the bytes, so
    /// that every replica picks the same winner even for two writes with one timestamp.
    static func lwwOrder(_ a: Sibling, _ b: Sibling) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
        if a.dot.node != b.dot.node { return a.dot.node < b.dot.node }
        if a.isTombstone != b.isTombstone { return !a.isTombstone }  // a delete wins a tie
        return (a.value ?? []).lexicographicallyPrecedes(b.value ?? [])
    }

    /// The newest timestamp among the siblings (for the hybrid clock on recovery).
    public var latestTimestamp: HybridTimestamp { siblings.map(\.timestamp).max() ?? .zero }

    // MARK: Encoding

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + siblings.reduce(0) { $0 + ($1.value?.count ?? 0) })
        w.write(ReplicaObject.formatVersion)
        w.write(policy == .vv ? UInt8(0) : UInt8(1))
        clock.write(into: &w)
        w.write(UInt16(siblings.count))
        for s in siblings {
            w.writeShortBlob(Array(s.dot.node.name.utf8))
            w.write(s.dot.counter)
            w.write(s.timestamp.physicalMillis)
            w.write(s.timestamp.logical)
            w.writeShortBlob(Array((s.contentType ?? "").utf8))
            if let value = s.value {
                w.write(UInt8(1))
                w.write(UInt32(value.count))
                w.write(bytes: value)
            } else {
                w.write(UInt8(0))
            }
        }
        return w.bytes
    }

    /// Decodes what `encoded()` wrote; nil for anything else (a peer's garbage included).
    public init?(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes)
        guard r.read(UInt8.self) == ReplicaObject.formatVersion, let policyByte: UInt8 = r.read(), policyByte <= 1,
            let clock = VersionVector.read(from: &r), let count: UInt16 = r.read()
        else { return nil }
        var siblings: [Sibling] = []
        for _ in 0..<count {
            guard let node = r.readShortBlob(), !node.isEmpty, let counter: UInt64 = r.read(),
                let millis: UInt64 = r.read(), let logical: UInt32 = r.read(), let type = r.readShortBlob(),
                let hasValue: UInt8 = r.read(), hasValue <= 1
            else { return nil }
            var value: [UInt8]?
            if hasValue == 1 {
                guard let length: UInt32 = r.read(), let bytes = r.read(count: Int(length)) else { return nil }
                value = bytes
            }
            siblings.append(
                Sibling(
                    dot: Dot(node: NodeID(String(decoding: node, as: UTF8.self)), counter: counter),
                    timestamp: HybridTimestamp(physicalMillis: millis, logical: logical), value: value,
                    contentType: type.isEmpty ? nil : String(decoding: type, as: UTF8.self)))
        }
        guard r.remaining == 0, Set(siblings.map(\.dot)).count == siblings.count else { return nil }
        self.init(policy: policyByte == 0 ? .vv : .lww, siblings: siblings, clock: clock)
    }
}
