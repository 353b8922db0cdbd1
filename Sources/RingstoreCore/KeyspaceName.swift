/// A validated keyspace name: 1 to 64 characters from `a-z`, `0-9`, `_` and `-`,
/// starting with a letter or digit. Names never contain 0x00, which separates
/// keyspace and key in stored keys.
public struct KeyspaceName: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: String

    public init(validating name: String, limits: Limits = .default) throws(RingstoreError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= limits.keyspaceNameBytesMax else {
            throw RingstoreError(
                .invalidKeyspaceName,
                "keyspace name must be 1 to \(limits.keyspaceNameBytesMax) characters long"
            )
        }
        for (index, byte) in bytes.enumerated() {
            let isLower = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isPunct = byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            guard isLower || isDigit || (isPunct && index > 0) else {
                throw RingstoreError(
                    .invalidKeyspaceName,
                    "keyspace name may only hold a-z, 0-9, '_' and '-', and must start with a letter or digit"
                )
            }
        }
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        self = try KeyspaceName(validating: raw)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public var description: String { name }

    /// The keyspace every node has from its first start.
    public static let `default` = try! KeyspaceName(validating: "default")
}
