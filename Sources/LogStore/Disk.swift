/// The one seam through which the storage engine touches a disk.
///
/// `PosixDisk` is the real thing; `SimulatedDisk` keeps files in memory and can "lose
/// power": drop every byte and directory entry that was not synced, or keep a torn prefix.
public protocol Disk: Sendable {
    /// Creates the directory (and its parents) if it does not exist.
    func createDirectory(_ path: String) throws(LogStoreError)
    /// The names (not paths) of the entries in a directory.
    func list(_ directory: String) throws(LogStoreError) -> [String]
    /// Opens a file for reading and writing; creates it empty when `create` is set and it is missing.
    func open(_ path: String, create: Bool) throws(LogStoreError) -> any DiskFile
    func remove(_ path: String) throws(LogStoreError)
    func rename(_ from: String, to: String) throws(LogStoreError)
    /// Makes creations, renames and removals in the directory durable.
    func syncDirectory(_ path: String) throws(LogStoreError)
}

/// An open file. Reads and writes are positional, so concurrent readers need no lock.
public protocol DiskFile: AnyObject, Sendable {
    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(at offset: UInt64, count: Int) throws(LogStoreError) -> [UInt8]
    func write(_ bytes: [UInt8], at offset: UInt64) throws(LogStoreError)
    /// Makes the file's data durable (fdatasync).
    func sync() throws(LogStoreError)
    func size() throws(LogStoreError) -> UInt64
    func truncate(to size: UInt64) throws(LogStoreError)
}
