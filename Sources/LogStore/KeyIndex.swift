/// A hash map from byte-string keys to keydir entries, laid out for memory rather than
/// generality: keys live back to back in one byte arena, entries in one array, and an
/// open-addressing table of 32-bit slots points into them. About 40 bytes plus the key
/// per entry, against ~120 for `[[UInt8]: KeydirEntry]` (one heap array per key and
/// 32-byte dictionary slots) and Bitcask's ~91.
struct KeyIndex {
    /// 0: empty; `deletedSlot`: a removed entry (probing continues); else entry index + 1.
    private var slots: [UInt32] = [UInt32](repeating: 0, count: 16)
    private var values: [KeydirEntry] = []
    private var keyOffsets: [UInt32] = []
    private var keyLengths: [UInt16] = []
    private var arena: [UInt8] = []
    /// Entry indexes freed by `remove`, reused by the next insert.
    private var free: [UInt32] = []
    /// Slots that hold an entry or a deletion mark (both lengthen probes).
    private var usedSlots = 0
    /// Arena bytes of removed keys, reclaimed when they pass half the arena.
    private var garbageBytes = 0
    private(set) var count = 0

    private static let deletedSlot = UInt32.max
    private static let freeOffset = UInt32.max
    /// Longest key this index stores.
    static let keyBytesMax = Int(UInt16.max)

    private var mask: Int { slots.count - 1 }

    private static func hash(_ key: [UInt8]) -> Int {
        key.withUnsafeBytes { hash($0) }
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return hasher.finalize()
    }

    private func keyEquals(_ index: Int, _ key: [UInt8]) -> Bool {
        let length = Int(keyLengths[index])
        guard length == key.count else { return false }
        let start = Int(keyOffsets[index])
        return arena.withUnsafeBufferPointer { a in
            key.withUnsafeBufferPointer { k in
                length == 0 || memcmpEqual(a.baseAddress! + start, k.baseAddress!, length)
            }
        }
    }

    /// The slot holding `key`, or the first free slot where it would go.
    private func find(_ key: [UInt8], hash: Int) -> (slot: Int, found: Bool) {
        var slot = hash & mask
        var firstDeleted: Int?
        while true {
            let value = slots[slot]
            if value == 0 { return (firstDeleted ?? slot, false) }
            if value == Self.deletedSlot {
                if firstDeleted == nil { firstDeleted = slot }
            } else if keyEquals(Int(value - 1), key) {
                return (slot, true)
            }
            slot = (slot + 1) & mask
        }
    }

    subscript(key: [UInt8]) -> KeydirEntry? {
        let (slot, found) = find(key, hash: Self.hash(key))
        return found ? values[Int(slots[slot] - 1)] : nil
    }

    /// Sets the entry of `key`, inserting it if new. Returns the previous entry.
    @discardableResult
    mutating func set(_ key: [UInt8], _ entry: KeydirEntry) -> KeydirEntry? {
        precondition(key.count <= Self.keyBytesMax, "key of \(key.count) bytes exceeds the index's limit")
        let hash = Self.hash(key)
        let (slot, found) = find(key, hash: hash)
        if found {
            let index = Int(slots[slot] - 1)
            defer { values[index] = entry }
            return values[index]
        }
        let offset = arena.count
        precondition(offset + key.count < Int(Self.freeOffset), "key arena exceeds 4 GiB")
        arena.append(contentsOf: key)
        let index: Int
        if let reused = free.popLast() {
            index = Int(reused)
            values[index] = entry
            keyOffsets[index] = UInt32(offset)
            keyLengths[index] = UInt16(key.count)
        } else {
            index = values.count
            values.append(entry)
            keyOffsets.append(UInt32(offset))
            keyLengths.append(UInt16(key.count))
        }
        if slots[slot] == 0 { usedSlots += 1 }
        slots[slot] = UInt32(index + 1)
        count += 1
        if usedSlots * 2 > slots.count { rebuild(slotCount: max(16, count * 4).nextPowerOfTwo) }
        return nil
    }

    /// Removes `key`; returns its entry if it was there.
    @discardableResult
    mutating func remove(_ key: [UInt8]) -> KeydirEntry? {
        let (slot, found) = find(key, hash: Self.hash(key))
        guard found else { return nil }
        let index = Int(slots[slot] - 1)
        let removed = values[index]
        slots[slot] = Self.deletedSlot
        garbageBytes += Int(keyLengths[index])
        keyOffsets[index] = Self.freeOffset
        free.append(UInt32(index))
        count -= 1
        // The rebuild renumbers the entries: `index` means nothing after it.
        if garbageBytes > 1 << 20 && garbageBytes * 2 > arena.count { rebuild(slotCount: slots.count) }
        return removed
    }

    /// Calls `body` with every key and its entry, in no particular order.
    func forEachEntry(_ body: ([UInt8], KeydirEntry) -> Void) {
        for index in values.indices where keyOffsets[index] != Self.freeOffset {
            let start = Int(keyOffsets[index])
            body(Array(arena[start..<start + Int(keyLengths[index])]), values[index])
        }
    }

    /// The keys that start with `prefix` and whose entry passes `include` (compared in
    /// place: no copy of other keys).
    func keys(withPrefix prefix: [UInt8], where include: (KeydirEntry) -> Bool = { _ in true }) -> [[UInt8]] {
        var found: [[UInt8]] = []
        for index in values.indices
        where keyOffsets[index] != Self.freeOffset && Int(keyLengths[index]) >= prefix.count && include(values[index]) {
            let start = Int(keyOffsets[index])
            if arena[start..<start + prefix.count].elementsEqual(prefix) {
                found.append(Array(arena[start..<start + Int(keyLengths[index])]))
            }
        }
        return found
    }

    /// Re-lays out everything: drops removed keys from the arena and deletion marks from
    /// the table.
    private mutating func rebuild(slotCount: Int) {
        var fresh = KeyIndex()
        fresh.slots = [UInt32](repeating: 0, count: slotCount)
        fresh.values.reserveCapacity(count)
        fresh.keyOffsets.reserveCapacity(count)
        fresh.keyLengths.reserveCapacity(count)
        fresh.arena.reserveCapacity(arena.count - garbageBytes)
        let mask = slotCount - 1
        arena.withUnsafeBytes { old in
            for index in values.indices where keyOffsets[index] != Self.freeOffset {
                let start = Int(keyOffsets[index])
                let key = UnsafeRawBufferPointer(rebasing: old[start..<start + Int(keyLengths[index])])
                // Keys are unique: the first empty slot of the probe sequence is the key's.
                var slot = Self.hash(key) & mask
                while fresh.slots[slot] != 0 { slot = (slot + 1) & mask }
                fresh.keyOffsets.append(UInt32(fresh.arena.count))
                fresh.keyLengths.append(keyLengths[index])
                fresh.arena.append(contentsOf: key)
                fresh.values.append(values[index])
                fresh.slots[slot] = UInt32(fresh.values.count)
            }
        }
        fresh.usedSlots = fresh.values.count
        fresh.count = fresh.values.count
        self = fresh
    }
}

/// Byte equality of two buffers (the C library's memcmp, through the stdlib).
@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    UnsafeRawBufferPointer(start: a, count: count).elementsEqual(UnsafeRawBufferPointer(start: b, count: count))
}

extension Int {
    /// The smallest power of two at or above this value.
    var nextPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}
