/// The name of a node, unique in its cluster (for example `n1`).
public struct NodeID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let name: String

    public init(_ name: String) { self.name = name }

    public var description: String { name }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.name < rhs.name }
}
