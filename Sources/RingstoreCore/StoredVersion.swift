/// The version a single-replica write carries: its hybrid timestamp and the node that
/// wrote it. Ordered by timestamp, then node (the LWW tie-break).
public struct StoredVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var timestamp: HybridTimestamp
    public var node: NodeID

    public init(timestamp: HybridTimestamp, node: NodeID) {
        self.timestamp = timestamp
        self.node = node
    }

    public static func < (lhs: StoredVersion, rhs: StoredVersion) -> Bool {
        (lhs.timestamp, lhs.node) < (rhs.timestamp, rhs.node)
    }

    public var description: String { "\(timestamp)@\(node)" }
}

/// What a node stores next to a value in the record's version metadata: the version,
/// the content type the client sent, and whether the record is a delete.
public struct ValueMetadata: Hashable, Sendable {
    public static let formatVersion: UInt8 = 1

    public var version: StoredVersion
    public var contentType: String?

    public init(version: StoredVersion, contentType: String?) {
        self.version = version
        self.contentType = contentType
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.write(Self.formatVersion)
        w.write(version.timestamp.physicalMillis)
        w.write(version.timestamp.logical)
        w.writeShortBlob(Array(version.node.name.utf8))
        w.writeShortBlob(Array((contentType ?? "").utf8))
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        var r = ByteReader(bytes)
        guard r.read(UInt8.self) == Self.formatVersion,
            let millis: UInt64 = r.read(),
            let logical: UInt32 = r.read(),
            let node = r.readShortBlob(),
            let type = r.readShortBlob()
        else { return nil }
        version = StoredVersion(
            timestamp: HybridTimestamp(physicalMillis: millis, logical: logical),
            node: NodeID(String(decoding: node, as: UTF8.self))
        )
        contentType = type.isEmpty ? nil : String(decoding: type, as: UTF8.self)
    }
}

/// The opaque causal context a read returns and a later write sends back
/// (`X-Ringstore-Context`). On a single replica it is the version the client saw.
public struct CausalContext: Hashable, Sendable {
    public var versions: [StoredVersion]

    public init(versions: [StoredVersion]) { self.versions = versions }

    public var encoded: String {
        var w = ByteWriter()
        w.write(UInt8(1))
        w.write(UInt16(versions.count))
        for v in versions {
            w.write(v.timestamp.physicalMillis)
            w.write(v.timestamp.logical)
            w.writeShortBlob(Array(v.node.name.utf8))
        }
        return Base64URL.encode(w.bytes)
    }

    public init(decoding text: String) throws(RingstoreError) {
        let invalid = RingstoreError(.invalidContext, "X-Ringstore-Context is not a context this cluster issued")
        guard text.utf8.count <= 4096, let bytes = Base64URL.decode(text) else { throw invalid }
        var r = ByteReader(bytes)
        guard r.read(UInt8.self) == 1, let count: UInt16 = r.read() else { throw invalid }
        var versions: [StoredVersion] = []
        for _ in 0..<count {
            guard let millis: UInt64 = r.read(), let logical: UInt32 = r.read(), let node = r.readShortBlob(),
                !node.isEmpty
            else { throw invalid }
            versions.append(
                StoredVersion(
                    timestamp: HybridTimestamp(physicalMillis: millis, logical: logical),
                    node: NodeID(String(decoding: node, as: UTF8.self))
                )
            )
        }
        guard r.remaining == 0 else { throw invalid }
        self.versions = versions
    }
}
