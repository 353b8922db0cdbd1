import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real single-member etcd (Debian's etcd-server) on 127.0.0.1 free ports, with its
/// data in a temporary directory that goes with it.
final class EtcdProcess: @unchecked Sendable {
    let process = Process()
    let clientPort = NodeProcess.freePort()
    let directory = "/tmp/ringstore-etcd-\(UInt64.random(in: 0...UInt64.max))"

    var endpoint: String { "http://127.0.0.1:\(clientPort)" }

    init() throws {
        let peerPort = NodeProcess.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        process.arguments = [
            "--name", "test", "--data-dir", directory + "/data",
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "test=http://127.0.0.1:\(peerPort)",
        ]
        let log = directory + "/etcd.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs `ringstore` with `arguments` and returns its exit status and output.
    static func ringstore(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NodeProcess.binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
