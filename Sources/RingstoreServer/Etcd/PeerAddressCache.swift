import Foundation
import Logging

/// The peer addresses a node last read from etcd, kept in its data directory
/// (`peers.json`), so that a node restarted while etcd is unreachable can still reach
/// its peers. Written only when it changed, atomically (a new file renamed over the old).
struct PeerAddressCache: Sendable {
    let path: String
    let logger: Logger

    func load() -> [String: ClusterMetadata.Registration] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return ClusterMetadata.decode([String: ClusterMetadata.Registration].self, Array(data)) ?? [:]
    }

    func save(_ registrations: [String: ClusterMetadata.Registration]) {
        guard registrations != load() else { return }
        do {
            try Data(ClusterMetadata.encode(registrations)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("caching peer addresses failed", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
