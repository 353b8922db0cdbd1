import RingstoreCore
import RingstoreNode

/// The simulator's etcd for the ring: one stored ring changed by compare-and-swap (each
/// call takes 1-5 ms and fails now and then, as a lost etcd answer would), whose every
/// new version reaches each running node after 1-20 ms (the watch). The ring versions
/// nodes run are what their `Node`s installed. Single-threaded, like the world.
final class SimulatedRingDirectory: RingDirectory, @unchecked Sendable {
    let world: SimulatedWorld
    let network: SimulatedNetwork
    private(set) var stored: Ring
    /// Called with the ring replaced and its successor, before any node learns it.
    var onStore: (Ring, Ring) -> Void = { _, _ in }

    init(world: SimulatedWorld, network: SimulatedNetwork, ring: Ring) {
        self.world = world
        self.network = network
        stored = ring
    }

    func replace(
        version: Int, with ring: Ring, completion: @escaping @Sendable (_ stored: Bool, _ current: Ring?) -> Void
    ) {
        world.schedule(afterMillis: world.between(1...5)) { [self] in
            guard !world.chance(0.05) else { return completion(false, nil) }
            guard stored.version == version else { return completion(false, stored) }
            store(ring)
            completion(true, nil)
        }
    }

    /// Stores `ring` and lets every running node learn it.
    func store(_ ring: Ring) {
        onStore(stored, ring)
        stored = ring
        for id in network.nodes.keys.sorted() {
            world.schedule(afterMillis: world.between(1...20)) { [self] in network.nodes[id]?.install(ring: ring) }
        }
    }

    /// Installs the stored ring on a node that starts (a server reads etcd before serving).
    func catchUp(_ node: Node) { node.install(ring: stored) }

    func lowestRunningVersion() -> Int? { network.nodes.values.map(\.ring.version).min() }

    func runningNodes() -> Set<NodeID>? { Set(network.nodes.keys) }
}
