import Foundation
import RingstoreCore
import Synchronization

/// The etcd lease a node's partition leaderships are bound to: granted with a short time
/// to live and renewed four times per life, so a dead or paused node loses its
/// leaderships within the time to live. It also knows until when, on this node's
/// monotonic clock, the lease surely holds: the send time of the last renewal etcd
/// answered plus the time to live, less a margin (etcd counts from when the renewal
/// reached it, which is later). A leader acknowledges nothing past that instant.
public final class LeadershipLease: Sendable {
    let etcd: EtcdClient
    let ttlSeconds: Int
    let marginMillis: UInt64
    let nowMillis: @Sendable () -> UInt64
    private let state = Mutex<(id: Int64, validUntil: UInt64)?>(nil)

    public init(
        etcd: EtcdClient, ttlSeconds: Int = 2, marginMillis: UInt64 = 200, nowMillis: @escaping @Sendable () -> UInt64
    ) {
        self.etcd = etcd
        self.ttlSeconds = ttlSeconds
        self.marginMillis = marginMillis
        self.nowMillis = nowMillis
    }

    /// The lease and until when it surely holds, if one is held.
    public var current: (id: Int64, validUntil: UInt64)? { state.withLock { $0 } }

    /// Grants a lease (a new one after the last expired) or renews the one held.
    public func renew() async {
        let sent = nowMillis()
        let validUntil = sent + UInt64(ttlSeconds) * 1000 - marginMillis
        do {
            if let (id, _) = current, try await etcd.keepAlive(id) {
                state.withLock { $0 = (id, validUntil) }
                return
            }
            let granted = try await etcd.grantLease(ttlSeconds: ttlSeconds)
            state.withLock { $0 = (granted, validUntil) }
        } catch {
            // etcd out of reach: the lease ages out on its own; `current` keeps saying
            // until when it surely holds.
        }
    }

    /// Renews until cancelled, then revokes the lease so its leaderships end at once.
    public func run() async {
        while !Task.isCancelled {
            await renew()
            try? await Task.sleep(for: .milliseconds(ttlSeconds * 250))
        }
        if let (id, _) = current { try? await etcd.revoke(id) }
    }

    /// Gives the lease up now (the node is stopping).
    public func revoke() async {
        guard let (id, _) = state.withLock({ $0 }) else { return }
        state.withLock { $0 = nil }
        try? await etcd.revoke(id)
    }
}
