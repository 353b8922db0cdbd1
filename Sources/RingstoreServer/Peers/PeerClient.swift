import Logging
import NIOCore
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization

/// The node's `PeerNetwork` over SwiftNIO TCP: one `PeerLink` per peer, created when
/// the peer's address becomes known (from etcd) and moved when it changes.
public final class PeerClient: PeerNetwork, Sendable {
    let group: any EventLoopGroup
    let logger: Logger
    private let links = Mutex<[NodeID: PeerLink]>([:])
    private let unknownPeer = Mutex<(@Sendable () async -> Void)?>(nil)

    /// Called when a request names a peer whose address is unknown (it may have
    /// registered a moment ago); the request is tried once more after it.
    var onUnknownPeer: (@Sendable () async -> Void)? {
        get { unknownPeer.withLock { $0 } }
        set { unknownPeer.withLock { $0 = newValue } }
    }

    /// Requests in flight per peer before further ones fail at once (backpressure).
    let inFlightMax: Int

    /// Told of every reply, for failure detection; nil when nobody watches.
    let health: PeerHealth?

    public init(group: any EventLoopGroup, inFlightMax: Int = 4096, health: PeerHealth? = nil, logger: Logger) {
        self.group = group
        self.inFlightMax = inFlightMax
        self.health = health
        self.logger = logger
        health?.attach(self)
    }

    public func isSuspected(_ node: NodeID) -> Bool { health?.isSuspected(node) ?? false }

    /// Every peer whose address is known.
    var knownPeers: [NodeID] { links.withLock { Array($0.keys) } }

    /// Sets where each peer listens.
    public func update(addresses: [NodeID: (host: String, port: Int)]) {
        links.withLock { links in
            for (peer, address) in addresses {
                if let link = links[peer] {
                    link.move(host: address.host, port: address.port)
                } else {
                    links[peer] = PeerLink(
                        peer: peer, host: address.host, port: address.port, loop: group.next(),
                        inFlightMax: inFlightMax,
                        logger: logger)
                }
            }
        }
    }

    /// The node timers of a server on `group` (for tools that build a node themselves).
    public static func timers(group: any EventLoopGroup) -> any NodeTimers { EventLoopTimers(group: group) }

    public func send(
        _ request: PeerRequest, to node: NodeID, timeoutMillis: UInt32,
        reply answer: @escaping @Sendable (Result<PeerReply, RingstoreError>) -> Void
    ) {
        let health = health
        let reply: @Sendable (Result<PeerReply, RingstoreError>) -> Void = { result in
            if case .success = result { health?.heard(node) }
            answer(result)
        }
        if let link = links.withLock({ $0[node] }) {
            link.send(request, timeoutMillis: timeoutMillis, reply: reply)
            return
        }
        guard let onUnknownPeer else {
            reply(.failure(RingstoreError(.unknownNode, "no address is known for node \(node)")))
            return
        }
        Task {
            await onUnknownPeer()
            guard let link = links.withLock({ $0[node] }) else {
                reply(.failure(RingstoreError(.unknownNode, "no address is known for node \(node)")))
                return
            }
            link.send(request, timeoutMillis: timeoutMillis, reply: reply)
        }
    }
}
