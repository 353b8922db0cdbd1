import RingstoreCore

/// The stored form of a keyspace definition in the catalog: a small fixed binary layout
/// (the node's pure layers do not use Foundation's JSON).
enum KeyspaceCodec {
    static func encode(_ keyspace: Keyspace) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt8(1))
        w.writeShortBlob(Array(keyspace.name.name.utf8))
        w.writeShortBlob(Array(keyspace.mode.rawValue.utf8))
        w.write(UInt16(keyspace.replicationFactor))
        w.writeShortBlob(Array(keyspace.conflict.rawValue.utf8))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> Keyspace {
        var r = ByteReader(bytes)
        guard r.read(UInt8.self) == 1, let name = r.readShortBlob(), let mode = r.readShortBlob(),
            let factor: UInt16 = r.read(), let conflict = r.readShortBlob(),
            let parsedMode = ReplicationMode(rawValue: String(decoding: mode, as: UTF8.self)),
            let parsedConflict = ConflictPolicy(rawValue: String(decoding: conflict, as: UTF8.self))
        else { throw RingstoreError(.storage, "a stored keyspace definition is unreadable") }
        return Keyspace(
            name: try KeyspaceName(validating: String(decoding: name, as: UTF8.self)),
            mode: parsedMode, replicationFactor: Int(factor), conflict: parsedConflict
        )
    }
}
