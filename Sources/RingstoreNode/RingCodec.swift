import RingstoreCore

/// The cached form of the ring in a node's storage: partition count and node names.
enum RingCodec {
    static func encode(_ ring: Ring) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt8(1))
        w.write(UInt32(ring.partitionCount))
        w.write(UInt16(ring.nodes.count))
        for node in ring.nodes { w.writeShortBlob(Array(node.name.utf8)) }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> Ring {
        var r = ByteReader(bytes)
        let unreadable = RingstoreError(.storage, "the cached ring is unreadable")
        guard r.read(UInt8.self) == 1, let partitions: UInt32 = r.read(), let count: UInt16 = r.read() else {
            throw unreadable
        }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let name = r.readShortBlob() else { throw unreadable }
            nodes.append(NodeID(String(decoding: name, as: UTF8.self)))
        }
        return try Ring(partitionCount: Int(partitions), nodes: nodes)
    }
}
