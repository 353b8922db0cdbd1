/// An operating error of the storage engine, with a growable `Code`.
public struct LogStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// A system call failed (the `detail` names it and the errno).
        public static let io = Code("io")
        /// A record, hint or dictionary failed its checksum or framing checks.
        public static let corruption = Code("corruption")
        /// The store was closed, or refuses writes after a failed fsync.
        public static let closed = Code("closed")
        /// A key or value is larger than the record format can hold.
        public static let tooLarge = Code("too-large")
        /// A file handle from before a simulated crash was used.
        public static let staleHandle = Code("stale-handle")

        public var description: String { name }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
