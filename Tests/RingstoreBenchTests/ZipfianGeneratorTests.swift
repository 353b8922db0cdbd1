import RingstoreBenchKit
import RingstoreCore
import Testing

@Suite struct ZipfianGeneratorTests {
    @Test func ranksStayInRangeAndTheFirstIsAsLikelyAsTheTheorySays() {
        var zipfian = ZipfianGenerator(itemCount: 1000)
        var random = SeededRandom(seed: 42)
        var counts = [Int](repeating: 0, count: 1000)
        let draws = 200_000
        for _ in 0..<draws { counts[zipfian.next(using: &random)] += 1 }
        let first = Double(counts[0]) / Double(draws)
        // 1/zeta(1000, 0.99) is about 0.133; 200k draws put the share within 1% of it.
        #expect(abs(first - zipfian.probabilityOfFirst) < 0.01)
        #expect(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500])
        #expect(counts.reduce(0, +) == draws)
    }

    @Test func growingTheItemCountMatchesAGeneratorBuiltAtThatCount() {
        var grown = ZipfianGenerator(itemCount: 10)
        var random = SeededRandom(seed: 1)
        _ = grown.next(itemCount: 5000, using: &random)
        let built = ZipfianGenerator(itemCount: 5000)
        #expect(abs(grown.probabilityOfFirst - built.probabilityOfFirst) < 1e-9)
    }

    @Test func latestFavoursTheNewestRecordsAndZipfianScattersThePopularOnes() {
        var random = SeededRandom(seed: 7)
        var latest = KeyChooser(distribution: .latest, recordCount: 1000)
        var newest = 0
        for _ in 0..<10_000 where latest.next(recordCount: 1000, using: &random) >= 990 { newest += 1 }
        #expect(newest > 3000)  // the ten newest of 1000 records take about 39% of the reads

        var zipfian = KeyChooser(distribution: .zipfian, recordCount: 1000)
        var counts = [Int: Int]()
        for _ in 0..<10_000 { counts[zipfian.next(recordCount: 1000, using: &random), default: 0] += 1 }
        let hottest = counts.max { $0.value < $1.value }!.key
        #expect(hottest != 0)  // scrambled: rank 0 is not record 0
        #expect(counts.keys.allSatisfy { (0..<1000).contains($0) })
    }

    @Test(arguments: Workload.allCases)
    func workloadMixesMatchTheirShares(_ workload: Workload) {
        var random = SeededRandom(seed: 3)
        var counts: [OperationKind: Int] = [:]
        let draws = 50_000
        for _ in 0..<draws { counts[workload.nextKind(using: &random), default: 0] += 1 }
        for (kind, share) in workload.mix {
            #expect(abs(Double(counts[kind] ?? 0) / Double(draws) - share) < 0.01, "\(kind)")
        }
        #expect(Set(counts.keys) == Set(workload.mix.map(\.0)))
    }
}
