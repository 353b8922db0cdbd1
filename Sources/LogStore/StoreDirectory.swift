/// File operations on a store directory that must be crash-safe in one fixed order.
struct StoreDirectory: Sendable {
    let disk: any Disk
    let path: String

    func file(_ name: String) -> String { path + "/" + name }

    /// Writes a whole file under a temporary name, syncs it, renames it into place and
    /// syncs the directory: after a crash the file is either complete or absent.
    func writeDurably(_ bytes: [UInt8], named name: String) throws(LogStoreError) {
        let temporary = file(name) + StoreFiles.temporarySuffix
        let handle = try disk.open(temporary, create: true)
        try handle.truncate(to: 0)
        try handle.write(bytes, at: 0)
        try handle.sync()
        try disk.rename(temporary, to: file(name))
        try disk.syncDirectory(path)
    }

    /// Creates an empty segment with its header; file and directory entry synced.
    func createSegment(id: UInt32, baseSequence: UInt64) throws(LogStoreError) -> any DiskFile {
        let handle = try disk.open(file(StoreFiles.segment(id)), create: true)
        try handle.truncate(to: 0)
        try handle.write(SegmentHeader.encode(id: id, baseSequence: baseSequence), at: 0)
        try handle.sync()
        try disk.syncDirectory(path)
        return handle
    }

    /// Reads a whole (small) file.
    func readAll(_ name: String) throws(LogStoreError) -> [UInt8] {
        let handle = try disk.open(file(name), create: false)
        return try handle.read(at: 0, count: Int(try handle.size()))
    }
}
