import RingstoreCore
import RingstoreNode

/// A node's disk in the simulator: writes become durable a few simulated milliseconds
/// after they are issued, in order; a crash loses everything not yet durable, and the
/// completions of lost writes never run (as after power loss).
public final class SimulatedStorage: ReplicaStorage, @unchecked Sendable {
    let world: SimulatedWorld
    private var durable: [[UInt8]: [UInt8]] = [:]
    private var unsynced: [(key: [UInt8], value: [UInt8]?, completion: @Sendable (RingstoreError?) -> Void)] = []
    private var flushScheduled = false
    /// Bumped by a crash, so a flush scheduled before it does nothing.
    private var generation = 0

    init(world: SimulatedWorld) { self.world = world }

    public func read(_ key: [UInt8]) throws(RingstoreError) -> [UInt8]? {
        if let pending = unsynced.last(where: { $0.key == key }) { return pending.value }  // nil: deleted
        return durable[key]
    }

    public func write(_ key: [UInt8], _ value: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        append(key, value, completion)
    }

    public func delete(_ key: [UInt8], completion: @escaping @Sendable (RingstoreError?) -> Void) {
        append(key, nil, completion)
    }

    private func append(_ key: [UInt8], _ value: [UInt8]?, _ completion: @escaping @Sendable (RingstoreError?) -> Void)
    {
        unsynced.append((key, value, completion))
        guard !flushScheduled else { return }
        flushScheduled = true
        let generation = generation
        world.schedule(afterMillis: world.between(1...4)) { [self] in
            guard generation == self.generation else { return }
            flushScheduled = false
            let batch = unsynced
            unsynced = []
            for write in batch { durable[write.key] = write.value }
            for write in batch { write.completion(nil) }
        }
    }

    public func keys(withPrefix prefix: [UInt8]) -> [[UInt8]] {
        var present = Set(durable.keys.filter { $0.starts(with: prefix) })
        for write in unsynced where write.key.starts(with: prefix) {
            if write.value == nil { present.remove(write.key) } else { present.insert(write.key) }
        }
        return present.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Power loss: unsynced writes are gone.
    func crash() {
        generation += 1
        unsynced = []
        flushScheduled = false
    }
}
