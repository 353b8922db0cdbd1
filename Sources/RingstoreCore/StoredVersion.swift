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
