import Synchronization
import Testing

@testable import RingstoreServer

/// Shared reads for linearizable confirmations: a caller never gets the answer of a read
/// that started before it asked, and callers waiting together share one read.
@Suite struct CoalescedReadsTests {
    /// A fetch that returns its call number once released.
    final class GatedFetch: Sendable {
        let calls = Atomic<Int>(0)
        let released = Atomic<Int>(0)

        func fetch() async -> Int {
            let number = calls.add(1, ordering: .sequentiallyConsistent).newValue
            let end = ContinuousClock.now + .seconds(10)
            while released.load(ordering: .sequentiallyConsistent) < number, ContinuousClock.now < end {
                try? await Task.sleep(for: .milliseconds(1))
            }
            return number
        }

        /// Waits (up to 10 s) until `count` fetches started.
        func waitForCalls(_ count: Int) async throws {
            let end = ContinuousClock.now + .seconds(10)
            while calls.load(ordering: .sequentiallyConsistent) < count, ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    @Test func callersThatArriveDuringAReadWaitForTheNextOneAndShareIt() async throws {
        let reads = CoalescedReads<Int>(concurrency: 1)
        let gate = GatedFetch()
        let first = Task { try await reads.read("k") { await gate.fetch() } }
        try await gate.waitForCalls(1)
        // Both arrive while read 1 is under way.
        let second = Task { try await reads.read("k") { await gate.fetch() } }
        let third = Task { try await reads.read("k") { await gate.fetch() } }
        try await Task.sleep(for: .milliseconds(20))
        #expect(gate.calls.load(ordering: .sequentiallyConsistent) == 1, "no second read while one is under way")
        gate.released.store(1, ordering: .sequentiallyConsistent)
        #expect(try await first.value == 1)
        gate.released.store(2, ordering: .sequentiallyConsistent)
        #expect(try await second.value == 2)
        #expect(try await third.value == 2)
        #expect(gate.calls.load(ordering: .sequentiallyConsistent) == 2)
        // Another key reads on its own.
        gate.released.store(3, ordering: .sequentiallyConsistent)
        #expect(try await reads.read("other") { await gate.fetch() } == 3)
    }

    @Test func upToConcurrencyReadsRunAtOnceEachStartedAfterItsCallers() async throws {
        let reads = CoalescedReads<Int>(concurrency: 2)
        let gate = GatedFetch()
        let first = Task { try await reads.read("k") { await gate.fetch() } }
        try await gate.waitForCalls(1)
        let second = Task { try await reads.read("k") { await gate.fetch() } }
        try await gate.waitForCalls(2)
        let third = Task { try await reads.read("k") { await gate.fetch() } }
        try await Task.sleep(for: .milliseconds(20))
        #expect(gate.calls.load(ordering: .sequentiallyConsistent) == 2, "two under way at most")
        gate.released.store(3, ordering: .sequentiallyConsistent)
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        #expect(try await third.value == 3)
    }

    @Test func aFailedReadFailsItsCallersOnly() async throws {
        struct Unreachable: Error {}
        let reads = CoalescedReads<Int>()
        await #expect(throws: Unreachable.self) { try await reads.read("k") { throw Unreachable() } }
        #expect(try await reads.read("k") { 7 } == 7)
    }
}
