/// A user key: 1 to `Limits.keyBytesMax` arbitrary bytes.
public struct Key: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(validating bytes: [UInt8], limits: Limits = .default) throws(RingstoreError) {
        guard !bytes.isEmpty else {
            throw RingstoreError(.invalidKey, "key must not be empty")
        }
        guard bytes.count <= limits.keyBytesMax else {
            throw RingstoreError(
                .keyTooLarge,
                "key is \(bytes.count) bytes; the limit is \(limits.keyBytesMax) bytes"
            )
        }
        self.bytes = bytes
    }
}
