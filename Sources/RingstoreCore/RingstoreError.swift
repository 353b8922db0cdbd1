/// An operating error of Ringstore: a struct with a growable `Code`, not a public enum.
///
/// The server maps each code to an HTTP status and a problem+json `type` in one place.
public struct RingstoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; stable across releases, new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        public static let invalidKey = Code("invalid-key")
        public static let keyTooLarge = Code("key-too-large")
        public static let valueTooLarge = Code("value-too-large")
        public static let invalidKeyspaceName = Code("invalid-keyspace-name")
        public static let invalidKeyspaceDefinition = Code("invalid-keyspace-definition")
        public static let unknownKeyspace = Code("unknown-keyspace")
        public static let keyspaceExists = Code("keyspace-exists")
        public static let invalidContext = Code("invalid-context")
        public static let invalidParameter = Code("invalid-parameter")
        public static let notFound = Code("not-found")
        public static let unavailable = Code("unavailable")
        public static let storage = Code("storage")
        public static let tooManySiblings = Code("too-many-siblings")
        public static let unknownNode = Code("unknown-node")
        /// Leader mode: an If-Match / If-None-Match condition did not hold.
        public static let preconditionFailed = Code("precondition-failed")
        /// Leader mode: the write was appended but not acknowledged; it may or may not survive.
        public static let outcomeUnknown = Code("outcome-unknown")
        /// Leader mode: the write a token names is not in the log any more (an `ack=leader`
        /// write lost with its leader).
        public static let tokenLost = Code("token-lost")

        /// The code a peer named in its answer; unknown names keep their text.
        public static func named(_ name: String) -> Code { Code(name) }

        public var description: String { name }
    }

    public var code: Code
    /// A human sentence saying what was wrong and, where it helps, what to do.
    public var detail: String
    /// For a missed consistency level: how many replicas were required and how many answered.
    public var required: Int?
    public var answered: Int?

    public init(_ code: Code, _ detail: String, required: Int? = nil, answered: Int? = nil) {
        self.code = code
        self.detail = detail
        self.required = required
        self.answered = answered
    }

    public var description: String { "\(code): \(detail)" }
}
