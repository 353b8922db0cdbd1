/// One event minted by one replica: the replica's id and its counter for that key.
/// Only a replica of a key's partition mints dots (DESIGN section 4).
public struct Dot: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var node: NodeID
    public var counter: UInt64

    public init(node: NodeID, counter: UInt64) {
        self.node = node
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool { (lhs.node, lhs.counter) < (rhs.node, rhs.counter) }

    public var description: String { "\(node):\(counter)" }
}

/// A version vector: for each replica, the highest counter of its events that are
/// known. It summarizes every dot seen, so `covers` answers "has this event been seen".
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var counters: [NodeID: UInt64]

    public init(_ counters: [NodeID: UInt64] = [:]) { self.counters = counters.filter { $0.value > 0 } }

    public static let empty = VersionVector()

    public subscript(node: NodeID) -> UInt64 {
        get { counters[node] ?? 0 }
        set { counters[node] = newValue == 0 ? nil : newValue }
    }

    public func covers(_ dot: Dot) -> Bool { self[dot.node] >= dot.counter }

    /// Whether every event this vector knows is known by `other` too.
    public func isDominated(by other: VersionVector) -> Bool {
        counters.allSatisfy { other[$0.key] >= $0.value }
    }

    /// The pointwise maximum.
    public func merged(with other: VersionVector) -> VersionVector {
        VersionVector(counters.merging(other.counters, uniquingKeysWith: max))
    }

    public var isEmpty: Bool { counters.isEmpty }

    public var description: String {
        "[" + counters.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "]"
    }

    /// Appends the vector (u16 count, then name and counter per node, sorted by name).
    public func write(into w: inout ByteWriter) {
        let sorted = counters.sorted { $0.key < $1.key }
        w.write(UInt16(sorted.count))
        for (node, counter) in sorted {
            w.writeShortBlob(Array(node.name.utf8))
            w.write(counter)
        }
    }

    public static func read(from r: inout ByteReader) -> VersionVector? {
        guard let count: UInt16 = r.read() else { return nil }
        var counters: [NodeID: UInt64] = [:]
        for _ in 0..<count {
            guard let node = r.readShortBlob(), !node.isEmpty, let counter: UInt64 = r.read() else { return nil }
            counters[NodeID(String(decoding: node, as: UTF8.self))] = counter
        }
        return VersionVector(counters)
    }
}
