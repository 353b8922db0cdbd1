import Replication
import RingstoreCore

/// How a node reaches its peers: the server's SwiftNIO transport, or the simulator's
/// network. `reply` is called exactly once: with the peer's answer, or with an error
/// when the link failed or `timeoutMillis` passed.
public protocol PeerNetwork: Sendable {
    func send(
        _ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32,
        reply: @escaping @Sendable (Result<PeerReply, RingstoreError>) -> Void)

    /// Whether the failure detector suspects `node` now; a coordinator tries suspected
    /// nodes last.
    func isSuspected(_ node: NodeID) -> Bool
}

extension PeerNetwork {
    public func isSuspected(_ node: NodeID) -> Bool { false }
}

/// Timers: the server's event loop, or the simulator's clock.
public protocol NodeTimers: Sendable {
    /// Runs `body` after `millis`, unless the returned handle is cancelled first.
    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle
}

/// A timer that has not fired yet can be cancelled; cancelling later does nothing.
public protocol TimerHandle: Sendable {
    func cancel()
}

/// Everything outside the node that it reads or drives: wall clock, peers, timers,
/// metrics. The
/// server passes real ones; the simulator passes simulated ones from a seed.
public struct NodeEnvironment: Sendable {
    public var wallMillis: @Sendable () -> UInt64
    public var network: any PeerNetwork
    public var timers: any NodeTimers
    public var metrics: NodeMetrics

    public init(
        wallMillis: @escaping @Sendable () -> UInt64, network: any PeerNetwork, timers: any NodeTimers,
        metrics: NodeMetrics = .discarded
    ) {
        self.wallMillis = wallMillis
        self.network = network
        self.timers = timers
        self.metrics = metrics
    }
}

/// The network of a node that has no peers (a cluster of one): every send fails.
public struct NoPeers: PeerNetwork {
    public init() {}

    public func send(
        _ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32,
        reply: @escaping @Sendable (Result<PeerReply, RingstoreError>) -> Void
    ) {
        reply(.failure(RingstoreError(.unknownNode, "node \(node) is not a peer of this single node")))
    }
}
