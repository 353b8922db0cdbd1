import Replication
import RingstoreCore
import RingstoreNode

/// The network between simulated nodes: each message takes 1-8 ms, may be dropped or
/// delivered twice, and is lost when a partition separates the two nodes or the
/// receiver is down. A reply comes back the same way; the sender's timeout fires if
/// none does. A request to a node that is down (not cut off) is refused after one hop,
/// like a connection to a killed process. Requests reach a node's current incarnation;
/// an incarnation that crashed sends nothing more, and replies to it are lost with it.
///
/// The failure detector is an oracle that errs: it suspects a peer that is down or cut
/// off from the asking node, and otherwise a live one with probability
/// `falseSuspicionProbability`.
public final class SimulatedNetwork: @unchecked Sendable {
    let world: SimulatedWorld
    var nodes: [NodeID: Node] = [:]
    /// Incarnation of each node; a crash bumps it.
    var incarnations: [NodeID: Int] = [:]
    /// Nodes that cannot reach each other, in the direction from -> to.
    var cut: Set<[NodeID]> = []
    public var dropProbability = 0.0
    public var duplicateProbability = 0.0
    public var falseSuspicionProbability = 0.05

    init(world: SimulatedWorld) { self.world = world }

    func reachable(_ from: NodeID, _ to: NodeID) -> Bool {
        nodes[to] != nil && !cut.contains([from, to]) && !world.chance(dropProbability)
    }

    /// The endpoint that one node's incarnation sends through.
    func endpoint(for node: NodeID) -> Endpoint {
        Endpoint(network: self, node: node, incarnation: incarnations[node, default: 0])
    }

    /// The network as one incarnation of one node sees it.
    public struct Endpoint: PeerNetwork, @unchecked Sendable {
        let network: SimulatedNetwork
        let node: NodeID
        let incarnation: Int

        public func send(
            _ request: PeerRequest, to peer: NodeID, timeoutMillis: UInt32,
            reply: @escaping @Sendable (Result<PeerReply, RingstoreError>) -> Void
        ) {
            let network = network
            let world = network.world
            let sender = node
            let incarnation = incarnation
            let call = Call()
            guard network.incarnations[sender, default: 0] == incarnation, network.nodes[sender] != nil else {
                return  // a crashed incarnation sends nothing
            }
            let finish: @Sendable (Result<PeerReply, RingstoreError>) -> Void = { result in
                guard !call.answered, network.incarnations[sender, default: 0] == incarnation,
                    network.nodes[sender] != nil
                else { return }
                call.answered = true
                reply(result)
            }
            world.schedule(afterMillis: UInt64(timeoutMillis)) {
                finish(.failure(RingstoreError(.unavailable, "\(peer) did not answer within \(timeoutMillis) ms")))
            }
            if network.nodes[peer] == nil, !network.cut.contains([sender, peer]) {
                world.schedule(afterMillis: world.between(1...8)) {
                    finish(.failure(RingstoreError(.unavailable, "\(peer) refused the connection")))
                }
                return
            }
            let copies = world.chance(network.duplicateProbability) ? 2 : 1
            for _ in 0..<copies {
                guard network.reachable(sender, peer) else { continue }
                world.schedule(afterMillis: world.between(1...8)) {
                    guard let receiver = network.nodes[peer] else { return }
                    receiver.handle(request) { answer in
                        guard network.reachable(peer, sender) else { return }
                        world.schedule(afterMillis: world.between(1...8)) { finish(.success(answer)) }
                    }
                }
            }
        }
    }
}

extension SimulatedNetwork.Endpoint {
    public func isSuspected(_ peer: NodeID) -> Bool {
        network.nodes[peer] == nil || network.cut.contains([node, peer])
            || network.world.chance(network.falseSuspicionProbability)
    }
}

/// Whether a call was answered (the reply runs exactly once). Single-threaded.
private final class Call: @unchecked Sendable {
    var answered = false
}

/// Timers on the simulated clock.
struct SimulatedTimers: NodeTimers, @unchecked Sendable {
    let world: SimulatedWorld

    func after(millis: UInt32, _ body: @escaping @Sendable () -> Void) -> any TimerHandle {
        let timer = SimulatedTimer()
        world.schedule(afterMillis: UInt64(millis)) { if !timer.cancelled { body() } }
        return timer
    }
}

/// A simulated timer: cancelled timers do not run. Single-threaded.
final class SimulatedTimer: TimerHandle, @unchecked Sendable {
    var cancelled = false

    func cancel() { cancelled = true }
}
