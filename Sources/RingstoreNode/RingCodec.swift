import RingstoreCore

/// The cached form of the ring in a node's storage: format (u8: 1 round-robin, 2 with
/// owners, 3 with owners, version and moves), partition count (u32), node names (u16
/// count, short blobs); formats 2 and 3 then list each partition's owners as u8 count and
/// u16 indexes into the names; format 3 then the version (u32) and the moves (u16 count;
/// each partition u32, phase u8 (0 copying, 1 draining), since u32, and the previous,
/// target and done lists as the owners are).
enum RingCodec {
    static func encode(_ ring: Ring) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt8(ring.isAssigned ? 3 : 1))
        w.write(UInt32(ring.partitionCount))
        w.write(UInt16(ring.nodes.count))
        for node in ring.nodes { w.writeShortBlob(Array(node.name.utf8)) }
        guard ring.isAssigned else { return w.bytes }
        let index = Dictionary(uniqueKeysWithValues: ring.nodes.enumerated().map { ($1, $0) })
        let list = { (w: inout ByteWriter, nodes: [NodeID]) in
            w.write(UInt8(clamping: nodes.count))
            for node in nodes.prefix(Int(UInt8.max)) { w.write(UInt16(index[node]!)) }
        }
        for partition in 0..<ring.partitionCount { list(&w, ring.explicitOwners(PartitionID(partition))) }
        w.write(UInt32(clamping: ring.version))
        w.write(UInt16(clamping: ring.moves.count))
        for move in ring.moves {
            w.write(UInt32(move.partition))
            w.write(UInt8(move.phase == .copying ? 0 : 1))
            w.write(UInt32(clamping: move.since))
            list(&w, move.previous)
            list(&w, move.target)
            list(&w, move.done)
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(RingstoreError) -> Ring {
        var r = ByteReader(bytes)
        let unreadable = RingstoreError(.storage, "the cached ring is unreadable")
        guard let format: UInt8 = r.read(), (1...3).contains(format), let partitions: UInt32 = r.read(),
            let count: UInt16 = r.read()
        else { throw unreadable }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let name = r.readShortBlob() else { throw unreadable }
            nodes.append(NodeID(String(decoding: name, as: UTF8.self)))
        }
        guard format >= 2 else { return try Ring(partitionCount: Int(partitions), nodes: nodes) }
        guard partitions <= 1 << 16 else { throw unreadable }
        func list() throws(RingstoreError) -> [NodeID] {
            guard let count: UInt8 = r.read() else { throw unreadable }
            var list: [NodeID] = []
            for _ in 0..<count {
                guard let position: UInt16 = r.read(), Int(position) < nodes.count else { throw unreadable }
                list.append(nodes[Int(position)])
            }
            return list
        }
        var owners: [[NodeID]] = []
        for _ in 0..<partitions { owners.append(try list()) }
        var version = 1
        var moves: [PartitionMove] = []
        if format == 3 {
            guard let stored: UInt32 = r.read(), let count: UInt16 = r.read() else { throw unreadable }
            version = Int(stored)
            for _ in 0..<count {
                guard let partition: UInt32 = r.read(), let phase: UInt8 = r.read(), phase <= 1,
                    let since: UInt32 = r.read()
                else { throw unreadable }
                let (previous, target, done) = (try list(), try list(), try list())
                moves.append(
                    PartitionMove(
                        partition: Int(partition), previous: previous, target: target,
                        phase: phase == 0 ? .copying : .draining, since: Int(since), done: done))
            }
        }
        let replicas = owners.map(\.count).max() ?? 1
        return try Ring(
            assignment: RingAssignment(partitionCount: Int(partitions), replicas: replicas, owners: owners),
            nodes: nodes, version: version, moves: moves)
    }
}
