/// Size limits enforced at the edge of a node; every request beyond them gets a clear 4xx.
public struct Limits: Sendable, Codable, Equatable {
    /// Longest key, in bytes (Riak and Cassandra keep keys well under this).
    public var keyBytesMax: Int
    /// Largest value, in bytes.
    public var valueBytesMax: Int
    /// Longest keyspace name, in bytes.
    public var keyspaceNameBytesMax: Int
    /// Largest accepted keyspace definition body, in bytes.
    public var keyspaceDefinitionBytesMax: Int
    /// Longest Content-Type stored with a value, in bytes.
    public var contentTypeBytesMax: Int = 256
    /// Most live siblings a `vv` key may hold; a write beyond it gets 409 (Riak's
    /// `max_siblings` default).
    public var siblingsMax: Int = 100

    public init(
        keyBytesMax: Int = 1024,
        valueBytesMax: Int = 1 << 20,
        keyspaceNameBytesMax: Int = 64,
        keyspaceDefinitionBytesMax: Int = 16 * 1024
    ) {
        self.keyBytesMax = keyBytesMax
        self.valueBytesMax = valueBytesMax
        self.keyspaceNameBytesMax = keyspaceNameBytesMax
        self.keyspaceDefinitionBytesMax = keyspaceDefinitionBytesMax
    }

    /// The defaults documented in the README.
    public static let `default` = Limits()
}
