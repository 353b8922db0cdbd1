import Foundation
import Logging

/// The last known address of every peer, kept in a node's data directory (`peers.json`)
/// so that a node restarted while etcd is unreachable can still reach its peers. A node
/// that left the registry (stopped, or its lease ran out) keeps its last address here,
/// as in the peer client: it is likely to come back there. Written only when it
/// changed, atomically (a new file renamed over the old).
struct PeerAddressCache: Sendable {
    let path: String
    let logger: Logger

    func load() -> [String: ClusterMetadata.Registration] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return ClusterMetadata.decode([String: ClusterMetadata.Registration].self, Array(data)) ?? [:]
    }

    func save(_ registrations: [String: ClusterMetadata.Registration]) {
        let known = load()
        let merged = known.merging(registrations) { _, new in new }
        guard merged != known else { return }
        do {
            try Data(ClusterMetadata.encode(merged)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("caching peer addresses failed", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
