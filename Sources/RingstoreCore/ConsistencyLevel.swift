/// A consistency level a client asked for (`one`, `two`, `quorum`, `all`, or a count).
public enum ConsistencyLevel: Sendable, Equatable, Codable, CustomStringConvertible {
    case one, two, quorum, all
    case count(Int)

    public init(parsing text: String) throws(RingstoreError) {
        switch text {
        case "one": self = .one
        case "two": self = .two
        case "quorum": self = .quorum
        case "all": self = .all
        default:
            guard let n = Int(text), n >= 1, n <= 64 else {
                throw RingstoreError(
                    .invalidParameter,
                    "consistency must be one, two, quorum, all or a number from 1 to 64, not '\(text)'"
                )
            }
            self = .count(n)
        }
    }

    /// How many of `replicas` replicas this level requires (may exceed `replicas`: the
    /// caller answers 503 then, never a silent downgrade).
    public func required(replicas: Int) -> Int {
        switch self {
        case .one: 1
        case .two: 2
        case .quorum: replicas / 2 + 1
        case .all: replicas
        case .count(let n): n
        }
    }

    public var description: String {
        switch self {
        case .one: "one"
        case .two: "two"
        case .quorum: "quorum"
        case .all: "all"
        case .count(let n): String(n)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try ConsistencyLevel(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.detail))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
