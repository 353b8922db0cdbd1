import Foundation

/// Runs CPU-bound simulation seeds on a thread of their own, one batch at a time across
/// the whole test run: seeds never hold the test runner's shared pool (where the
/// real-process tests' timers and I/O wait) and never take more than one core of the two.
enum HeavyWork {
    private static let gate = NSLock()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                gate.lock()
                defer { gate.unlock() }
                continuation.resume(with: Result { try body() })
            }.start()
        }
    }
}
