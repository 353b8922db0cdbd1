import CoreMetrics
import Foundation
import Replication
import RingstoreCore
import ServiceLifecycle
import Synchronization

/// How alive each peer looks from this node: a phi accrual failure detector per peer,
/// fed by every reply the peer client receives and by heartbeats (a `ping` to every
/// known peer four times a second). Exposed as the `ringstore_peer_phi{peer}` gauge and
/// in `GET /v1/cluster`.
public final class PeerHealth: Service, Sendable {
    private let detectors = Mutex<[NodeID: FailureDetector]>([:])
    private let gauges = Mutex<[NodeID: Gauge]>([:])
    private let factory: any MetricsFactory
    /// Set once the peer client exists (it feeds this and is used for heartbeats).
    private let client = Mutex<PeerClient?>(nil)

    init(factory: any MetricsFactory) { self.factory = factory }

    static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func attach(_ peers: PeerClient) { client.withLock { $0 = peers } }

    /// `peer` answered something.
    func heard(_ peer: NodeID) {
        let now = PeerHealth.nowMillis()
        detectors.withLock { $0[peer, default: FailureDetector()].heard(atMillis: now) }
    }

    /// Whether `peer`'s silence passed the threshold (never for a peer not heard from twice).
    func isSuspected(_ peer: NodeID) -> Bool {
        let now = PeerHealth.nowMillis()
        return detectors.withLock { $0[peer]?.isSuspected(atMillis: now) ?? false }
    }

    /// Phi of every peer heard from at least once, now.
    public func phis() -> [NodeID: Double] {
        let now = PeerHealth.nowMillis()
        return detectors.withLock { $0.mapValues { $0.phi(atMillis: now) } }
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let peers = client.withLock({ $0 }) {
                for peer in peers.knownPeers {
                    peers.send(.ping, to: peer, timeoutMillis: 1000) { _ in }
                }
            }
            for (peer, phi) in phis() {
                let gauge = gauges.withLock { gauges in
                    if let gauge = gauges[peer] { return gauge }
                    let gauge = Gauge(label: "ringstore_peer_phi", dimensions: [("peer", peer.name)], factory: factory)
                    gauges[peer] = gauge
                    return gauge
                }
                gauge.record(phi.isFinite ? phi : 300)
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
