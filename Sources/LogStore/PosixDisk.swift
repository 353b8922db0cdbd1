import Glibc

/// The real disk: POSIX calls, `fdatasync` for file data and `fsync` on the directory.
public struct PosixDisk: Disk {
    public init() {}

    public func createDirectory(_ path: String) throws(LogStoreError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw PosixDisk.error("mkdir", built)
            }
        }
    }

    public func list(_ directory: String) throws(LogStoreError) -> [String] {
        guard let dir = opendir(directory) else { throw PosixDisk.error("opendir", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func open(_ path: String, create: Bool) throws(LogStoreError) -> any DiskFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw PosixDisk.error("open", path) }
        return PosixFile(fd: fd, path: path)
    }

    public func remove(_ path: String) throws(LogStoreError) {
        if unlink(path) != 0 && errno != ENOENT { throw PosixDisk.error("unlink", path) }
    }

    public func rename(_ from: String, to: String) throws(LogStoreError) {
        if Glibc.rename(from, to) != 0 { throw PosixDisk.error("rename", from) }
    }

    public func syncDirectory(_ path: String) throws(LogStoreError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PosixDisk.error("open", path) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw PosixDisk.error("fsync", path) }
    }

    static func error(_ call: String, _ path: String) -> LogStoreError {
        let code = errno
        let message = String(cString: strerror(code))
        return LogStoreError(.io, "\(call) \(path): \(message) (errno \(code))")
    }
}

/// A file descriptor, closed when the last reference goes: a reader holding a segment
/// keeps reading it even after compaction unlinked the file.
final class PosixFile: DiskFile {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func read(at offset: UInt64, count: Int) throws(LogStoreError) -> [UInt8] {
        var done = 0
        var failed = false
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failed { throw PosixDisk.error("pread", path) }
        return buffer
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(LogStoreError) {
        var done = 0
        var failed = false
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    return
                }
                done += n
            }
        }
        if failed { throw PosixDisk.error("pwrite", path) }
    }

    func sync() throws(LogStoreError) {
        if fdatasync(fd) != 0 { throw PosixDisk.error("fdatasync", path) }
    }

    func size() throws(LogStoreError) -> UInt64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw PosixDisk.error("fstat", path) }
        return UInt64(st.st_size)
    }

    func truncate(to size: UInt64) throws(LogStoreError) {
        if ftruncate(fd, off_t(size)) != 0 { throw PosixDisk.error("ftruncate", path) }
    }
}
