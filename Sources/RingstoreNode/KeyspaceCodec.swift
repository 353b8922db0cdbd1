import RingstoreCore

/// The stored form of a keyspace definition in the catalog: a small fixed binary layout
/// (the node's pure layers do not use Foundation's JSON). Version 1 had no default
/// levels; it reads back with quorum for both. Version 2 had no `sloppy`; it reads back
/// strict. Version 4 adds leader mode's `min_in_sync` and `ack` (0 and an empty text
/// when absent).
enum KeyspaceCodec {
    static func encode(_ keyspace: Keyspace) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt8(4))
        w.writeShortBlob(Array(keyspace.name.name.utf8))
        w.writeShortBlob(Array(keyspace.mode.rawValue.utf8))
        w.write(UInt16(keyspace.replicationFactor))
        w.writeShortBlob(Array(keyspace.conflict.rawValue.utf8))
        w.writeShortBlob(Array(keyspace.read.description.utf8))
        w.writeShortBlob(Array(keyspace.write.description.utf8))
        w.write(keyspace.sloppy ? UInt8(1) : 0)
        w.write(UInt16(clamping: keyspace.minInSync ?? 0))
        w.writeShortBlob(Array((keyspace.ack?.rawValue ?? "").utf8))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> Keyspace {
        let unreadable = RingstoreError(.storage, "a stored keyspace definition is unreadable")
        var r = ByteReader(bytes)
        guard let version: UInt8 = r.read(), (1...4).contains(version), let name = r.readShortBlob(),
            let mode = r.readShortBlob(), let factor: UInt16 = r.read(), let conflict = r.readShortBlob(),
            let parsedMode = ReplicationMode(rawValue: String(decoding: mode, as: UTF8.self)),
            let parsedConflict = ConflictPolicy(rawValue: String(decoding: conflict, as: UTF8.self))
        else { throw unreadable }
        var read = ConsistencyLevel.quorum
        var write = ConsistencyLevel.quorum
        var sloppy = false
        if version >= 2 {
            guard let readText = r.readShortBlob(), let writeText = r.readShortBlob() else { throw unreadable }
            read = try ConsistencyLevel(parsing: String(decoding: readText, as: UTF8.self))
            write = try ConsistencyLevel(parsing: String(decoding: writeText, as: UTF8.self))
        }
        if version >= 3 {
            guard let flag: UInt8 = r.read(), flag <= 1 else { throw unreadable }
            sloppy = flag == 1
        }
        var minInSync: Int?
        var ack: LeaderAck?
        if version >= 4 {
            guard let count: UInt16 = r.read(), let ackText = r.readShortBlob() else { throw unreadable }
            minInSync = count == 0 ? nil : Int(count)
            if !ackText.isEmpty {
                guard let parsed = LeaderAck(rawValue: String(decoding: ackText, as: UTF8.self)) else {
                    throw unreadable
                }
                ack = parsed
            }
        }
        return Keyspace(
            name: try KeyspaceName(validating: String(decoding: name, as: UTF8.self)),
            mode: parsedMode, replicationFactor: Int(factor), conflict: parsedConflict, read: read, write: write,
            sloppy: sloppy, minInSync: minInSync, ack: ack)
    }
}
