import RingstoreCore

/// How a node lays keys out in its one store: `keyspace 0x00 key` for data, a reserved
/// 0x01 prefix (no keyspace name can start with it) for the keyspace catalog, and 0x02
/// for leader-mode partitions (`PartitionLog`).
enum StorageKey {
    static func data(_ keyspace: KeyspaceName, _ key: Key) -> [UInt8] {
        var bytes = Array(keyspace.name.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.bytes)
        return bytes
    }

    /// The keyspace and key of a data key (`keyspace 0x00 key`); nil for node metadata.
    static func split(_ bytes: some Collection<UInt8>) -> (keyspace: String, key: [UInt8])? {
        guard let first = bytes.first, first != 0x01, first != 0x02, let separator = bytes.firstIndex(of: 0) else {
            return nil
        }
        return (String(decoding: bytes[..<separator], as: UTF8.self), Array(bytes[bytes.index(after: separator)...]))
    }

    /// The ring this node last knew (a cache of the cluster's metadata).
    static let ring: [UInt8] = [0x01] + Array("ring".utf8)

    static let catalogPrefix: [UInt8] = [0x01] + Array("keyspace".utf8) + [0x00]

    static func catalog(_ keyspace: KeyspaceName) -> [UInt8] {
        catalogPrefix + Array(keyspace.name.utf8)
    }
}
