/// A pure protocol state machine (DESIGN section 1): events in, actions out, no I/O,
/// no clock, no randomness. A shell (the server, or the simulator) delivers events and
/// performs the actions.
public protocol ProtocolMachine: Sendable {
    associatedtype Event: Sendable
    associatedtype Action: Sendable
    /// The first actions.
    mutating func start() -> [Action]
    mutating func handle(_ event: Event) -> [Action]
    /// Whether the machine will decide nothing more, whatever arrives.
    var isFinished: Bool { get }
}
