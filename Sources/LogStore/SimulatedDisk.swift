import RingstoreCore

/// An in-memory disk that models what survives a power loss: file data up to the last
/// `sync()`, and directory entries (creations, renames, removals) up to the last
/// `syncDirectory`. `crash` throws away everything else, optionally keeping a torn
/// prefix of unsynced appends, as leveldb's fault-injection env does. A `kill -9` cannot
/// show a missing fsync (the page cache survives it); this can.
public final class SimulatedDisk: Disk, @unchecked Sendable {
    /// How a crash treats bytes written but not synced.
    public enum CrashMode: Sendable {
        /// Every unsynced byte is lost.
        case dropUnsynced
        /// A random prefix of each file's unsynced tail survives (seeded).
        case tornPrefix(seed: UInt64)
    }

    final class Node {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    struct Directory {
        var entries: [String: Node] = [:]
        var durableEntries: [String: Node] = [:]
    }

    private let lock = StoreLock()
    private var directories: [String: Directory] = [:]
    private var generation = 0
    private var syncs = 0
    /// File syncs so far, for tests that check what was synced.
    public var syncCount: Int { lock.withLock { syncs } }

    public init() {}

    private var crashCountdown: Int?

    /// Loses power in the middle of whatever runs: the `operations`-th mutating call from
    /// now (write, sync, truncate, create, rename, remove, directory sync) crashes the disk
    /// instead of happening, and throws. Lets a test crash at every step of a procedure.
    public func crash(afterOperations operations: Int) {
        lock.withLock { crashCountdown = operations }
    }

    /// Counts a mutating operation; crashes and throws when the armed countdown runs out.
    private func step() throws(LogStoreError) {
        guard let remaining = crashCountdown else { return }
        if remaining > 0 {
            crashCountdown = remaining - 1
            return
        }
        crashCountdown = nil
        crashLocked(.dropUnsynced)
        throw LogStoreError(.staleHandle, "simulated power loss")
    }

    /// Loses power: every handle opened before becomes unusable, and the disk keeps only
    /// what was durable (plus torn prefixes in `.tornPrefix` mode).
    public func crash(_ mode: CrashMode = .dropUnsynced) {
        lock.withLock { crashLocked(mode) }
    }

    private func crashLocked(_ mode: CrashMode) {
        crashCountdown = nil
        generation += 1
        var random: SeededRandom? = nil
        if case .tornPrefix(let seed) = mode { random = SeededRandom(seed: seed) }
        for (path, var directory) in directories {
            directory.entries = directory.durableEntries
            for (_, node) in directory.entries {
                var kept = node.durable
                if var rng = random, node.data.count > node.durable.count,
                    Array(node.data.prefix(node.durable.count)) == node.durable
                {
                    let extra = node.data.count - node.durable.count
                    let keep = Int.random(in: 0...extra, using: &rng)
                    kept += node.data[node.durable.count..<(node.durable.count + keep)]
                    random = rng
                }
                node.data = kept
                node.durable = kept
            }
            directories[path] = directory
        }
    }

    /// Overwrites bytes of a file in place (for corruption tests); durable at once.
    public func corrupt(_ path: String, at offset: Int, with bytes: [UInt8]) {
        let (dir, name) = split(path)
        lock.withLock {
            guard let node = directories[dir]?.entries[name] else { return }
            for (i, b) in bytes.enumerated() where offset + i < node.data.count { node.data[offset + i] = b }
            node.durable = node.data
        }
    }

    private func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    public func createDirectory(_ path: String) throws(LogStoreError) {
        lock.withLock {
            if directories[path] == nil { directories[path] = Directory() }
        }
    }

    public func list(_ directory: String) throws(LogStoreError) -> [String] {
        try lock.withLock { () throws(LogStoreError) -> [String] in
            guard let dir = directories[directory] else { throw LogStoreError(.io, "no directory \(directory)") }
            return Array(dir.entries.keys)
        }
    }

    public func open(_ path: String, create: Bool) throws(LogStoreError) -> any DiskFile {
        let (dir, name) = split(path)
        return try lock.withLock { () throws(LogStoreError) -> any DiskFile in
            guard directories[dir] != nil else { throw LogStoreError(.io, "no directory \(dir)") }
            if let node = directories[dir]!.entries[name] {
                return SimulatedFile(disk: self, node: node, generation: generation, path: path)
            }
            guard create else { throw LogStoreError(.io, "no file \(path)") }
            try step()
            let node = Node()
            directories[dir]!.entries[name] = node
            return SimulatedFile(disk: self, node: node, generation: generation, path: path)
        }
    }

    public func remove(_ path: String) throws(LogStoreError) {
        let (dir, name) = split(path)
        try lock.withLock { () throws(LogStoreError) in
            try step()
            _ = directories[dir]?.entries.removeValue(forKey: name)
        }
    }

    public func rename(_ from: String, to: String) throws(LogStoreError) {
        let (fromDir, fromName) = split(from)
        let (toDir, toName) = split(to)
        try lock.withLock { () throws(LogStoreError) in
            try step()
            guard let node = directories[fromDir]?.entries.removeValue(forKey: fromName) else {
                throw LogStoreError(.io, "rename: no file \(from)")
            }
            directories[toDir]?.entries[toName] = node
        }
    }

    public func syncDirectory(_ path: String) throws(LogStoreError) {
        try lock.withLock { () throws(LogStoreError) in
            try step()
            if let entries = directories[path]?.entries { directories[path]?.durableEntries = entries }
        }
    }

    func withFile<T>(_ file: SimulatedFile, mutating: Bool = false, _ body: (Node) -> T) throws(LogStoreError) -> T {
        try lock.withLock { () throws(LogStoreError) -> T in
            guard file.generation == generation else {
                throw LogStoreError(.staleHandle, "\(file.path) was opened before a simulated crash")
            }
            if mutating { try step() }
            return body(file.node)
        }
    }

    func recordSync() { lock.withLock { syncs += 1 } }
}

/// A handle on a simulated file; unusable after the disk's next crash.
final class SimulatedFile: DiskFile, @unchecked Sendable {
    let disk: SimulatedDisk
    let node: SimulatedDisk.Node
    let generation: Int
    let path: String

    init(disk: SimulatedDisk, node: SimulatedDisk.Node, generation: Int, path: String) {
        self.disk = disk
        self.node = node
        self.generation = generation
        self.path = path
    }

    func read(at offset: UInt64, count: Int) throws(LogStoreError) -> [UInt8] {
        try disk.withFile(self) { node in
            let start = min(Int(offset), node.data.count)
            return Array(node.data[start..<min(start + count, node.data.count)])
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(LogStoreError) {
        try disk.withFile(self, mutating: true) { node in
            let start = Int(offset)
            if node.data.count < start { node.data += [UInt8](repeating: 0, count: start - node.data.count) }
            let overlap = min(bytes.count, node.data.count - start)
            node.data.replaceSubrange(start..<(start + overlap), with: bytes[0..<overlap])
            node.data += bytes[overlap...]
        }
    }

    func sync() throws(LogStoreError) {
        try disk.withFile(self, mutating: true) { node in node.durable = node.data }
        disk.recordSync()
    }

    func size() throws(LogStoreError) -> UInt64 {
        try disk.withFile(self) { UInt64($0.data.count) }
    }

    func truncate(to size: UInt64) throws(LogStoreError) {
        try disk.withFile(self, mutating: true) { node in
            if Int(size) < node.data.count { node.data.removeLast(node.data.count - Int(size)) }
        }
    }
}
