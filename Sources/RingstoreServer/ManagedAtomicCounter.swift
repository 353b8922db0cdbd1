import Synchronization

/// A small atomic integer.
final class ManagedAtomicCounter: Sendable {
    private let atomic = Atomic<Int>(0)
    func add(_ delta: Int) { atomic.add(delta, ordering: .relaxed) }
    func load() -> Int { atomic.load(ordering: .relaxed) }
}
