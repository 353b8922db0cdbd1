import RingstoreCore
import Testing

@testable import LogStore

/// The keydir's compact hash map behaves exactly like a Dictionary.
@Suite struct KeyIndexTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func matchesADictionary(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var index = KeyIndex()
        var model: [[UInt8]: KeydirEntry] = [:]
        for step in 0..<60_000 {
            // Long keys now and then, so removed keys pass the arena's 1 MiB reclaim threshold.
            let long = rng.next() % 4 == 0
            let key = Array("k\(rng.next() % 3000)".utf8) + (long ? [UInt8](repeating: 7, count: 600) : [])
            let entry = KeydirEntry(
                segment: UInt32(step % 7), offset: UInt32(step), length: UInt32(rng.next() % 100),
                isTombstone: rng.next() % 5 == 0, sequence: UInt64(step))
            switch rng.next() % 10 {
            case 0..<5:
                #expect(index.set(key, entry) == model.updateValue(entry, forKey: key), "seed \(seed) step \(step)")
            case 5..<8:
                #expect(index.remove(key) == model.removeValue(forKey: key), "seed \(seed) step \(step)")
            default:
                #expect(index[key] == model[key], "seed \(seed) step \(step)")
            }
            #expect(index.count == model.count)
        }
        #expect(
            Set(index.keys(withPrefix: Array("k1".utf8)))
                == Set(model.keys.filter { $0.starts(with: Array("k1".utf8)) }))
        var seen: [[UInt8]: KeydirEntry] = [:]
        index.forEachEntry { key, entry in seen[key] = entry }
        #expect(seen == model)
    }

    /// The removal that passes the arena's reclaim threshold rebuilds the index, which
    /// renumbers its entries: it still answers the entry it removed (it used to read the
    /// renumbered array at the old index: another key's entry, or past the end, which
    /// crashed a node compacting a store that trims a leader-mode log).
    @Test func theRemovalThatRebuildsAnswersTheRemovedEntry() {
        var index = KeyIndex()
        let keys = (0..<3000).map { Array("key-\($0)-".utf8) + [UInt8](repeating: 9, count: 700) }
        for (i, key) in keys.enumerated() {
            index.set(
                key, KeydirEntry(segment: 1, offset: UInt32(i), length: 1, isTombstone: false, sequence: UInt64(i)))
        }
        for (i, key) in keys.enumerated() {
            #expect(index.remove(key)?.sequence == UInt64(i), "removal \(i)")
        }
        #expect(index.count == 0)
    }

    @Test func emptyAndBoundaryKeys() {
        var index = KeyIndex()
        let longest = [UInt8](repeating: 1, count: KeyIndex.keyBytesMax)
        index.set([], KeydirEntry(segment: 1, offset: 2, length: 3, isTombstone: false, sequence: 4))
        index.set(longest, KeydirEntry(segment: 5, offset: 6, length: 7, isTombstone: true, sequence: 8))
        #expect(index[[]]?.sequence == 4)
        #expect(index[longest]?.sequence == 8)
        #expect(index[[1]] == nil)
        #expect(index.remove([]) != nil)
        #expect(index[[]] == nil)
        #expect(index.count == 1)
    }
}
