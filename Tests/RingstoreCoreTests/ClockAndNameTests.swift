import PropertyBased
import RingstoreCore
import Testing

@Suite struct ClockAndNameTests {
    /// Whatever the wall clock does (jumps back, stalls), the HLC never repeats or goes back,
    /// and stays at or above the wall clock.
    @Test func hybridClockIsStrictlyMonotonic() async {
        await propertyCheck(count: 200, input: Gen.uint64(in: 0...10_000).array(of: 1...100)) { walls in
            var clock = HybridLogicalClock()
            var last = HybridTimestamp.zero
            for (i, wall) in walls.enumerated() {
                let next =
                    i % 3 == 2
                    ? clock.observe(HybridTimestamp(physicalMillis: wall &+ 5, logical: 7), wallMillis: wall)
                    : clock.tick(wallMillis: wall)
                #expect(next > last)
                #expect(next.physicalMillis >= wall)
                last = next
            }
        }
    }

    @Test(arguments: ["default", "users", "a", "orders-2026", "x_y", String(repeating: "k", count: 64)])
    func validKeyspaceNames(name: String) throws {
        #expect(try KeyspaceName(validating: name).name == name)
    }

    @Test(arguments: ["", "Users", "_x", "-x", "a b", "a/b", "ä", "a\u{0}b", String(repeating: "k", count: 65)])
    func invalidKeyspaceNames(name: String) {
        #expect(throws: RingstoreError.self) { try KeyspaceName(validating: name) }
    }

    @Test func keysRespectTheLimit() throws {
        let limits = Limits(keyBytesMax: 4)
        #expect(try Key(validating: [1, 2, 3, 4], limits: limits).bytes.count == 4)
        #expect(throws: RingstoreError.self) { try Key(validating: [1, 2, 3, 4, 5], limits: limits) }
        #expect(throws: RingstoreError.self) { try Key(validating: [], limits: limits) }
    }

    @Test func seededRandomReplays() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        for _ in 0..<100 { #expect(a.next() == b.next()) }
    }
}
