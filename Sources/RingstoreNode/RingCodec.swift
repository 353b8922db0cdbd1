import RingstoreCore

/// The cached form of the ring in a node's storage: format (u8: 1 round-robin, 2 with
/// owners), partition count (u32), node names (u16 count, short blobs); format 2 then
/// lists each partition's owners as u8 count and u16 indexes into the names.
enum RingCodec {
    static func encode(_ ring: Ring) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt8(ring.isAssigned ? 2 : 1))
        w.write(UInt32(ring.partitionCount))
        w.write(UInt16(ring.nodes.count))
        for node in ring.nodes { w.writeShortBlob(Array(node.name.utf8)) }
        guard ring.isAssigned else { return w.bytes }
        let index = Dictionary(uniqueKeysWithValues: ring.nodes.enumerated().map { ($1, $0) })
        for partition in 0..<ring.partitionCount {
            let owners = ring.explicitOwners(PartitionID(partition))
            w.write(UInt8(clamping: owners.count))
            for owner in owners.prefix(Int(UInt8.max)) { w.write(UInt16(index[owner]!)) }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> Ring {
        var r = ByteReader(bytes)
        let unreadable = RingstoreError(.storage, "the cached ring is unreadable")
        guard let format: UInt8 = r.read(), (1...2).contains(format), let partitions: UInt32 = r.read(),
            let count: UInt16 = r.read()
        else { throw unreadable }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let name = r.readShortBlob() else { throw unreadable }
            nodes.append(NodeID(String(decoding: name, as: UTF8.self)))
        }
        guard format == 2 else { return try Ring(partitionCount: Int(partitions), nodes: nodes) }
        guard partitions <= 1 << 16 else { throw unreadable }
        var owners: [[NodeID]] = []
        for _ in 0..<partitions {
            guard let owned: UInt8 = r.read() else { throw unreadable }
            var list: [NodeID] = []
            for _ in 0..<owned {
                guard let position: UInt16 = r.read(), Int(position) < nodes.count else { throw unreadable }
                list.append(nodes[Int(position)])
            }
            owners.append(list)
        }
        let replicas = owners.map(\.count).max() ?? 1
        return try Ring(
            assignment: RingAssignment(partitionCount: Int(partitions), replicas: replicas, owners: owners),
            nodes: nodes)
    }
}
