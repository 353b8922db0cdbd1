import Foundation
import RingstoreClient

#if canImport(Glibc)
    import Glibc
#endif

/// A real `ringstore serve` child process on 127.0.0.1.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let dataDirectory: String
    let logPath: String

    /// The `ringstore` binary next to this test bundle (SwiftPM builds it: the test target depends on it).
    static var binary: String {
        let bundleDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        return bundleDirectory.appendingPathComponent("ringstore").path
    }

    init(dataDirectory: String, port: Int, extraArguments: [String] = []) throws {
        self.port = port
        self.dataDirectory = dataDirectory
        logPath = dataDirectory + ".log"
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--data-dir", dataDirectory, "--http", "127.0.0.1:\(port)"] + extraArguments
        // A restarted node appends to the log of its earlier runs.
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// A test that fails or throws midway never leaves a node running.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var client: RingstoreClient {
        get throws { try RingstoreClient(endpoint: "http://127.0.0.1:\(port)", timeout: .seconds(15)) }
    }

    /// Waits until /healthz answers, up to `deadline`.
    func waitUntilHealthy(within deadline: Duration = .seconds(30)) async throws {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if let response = try? await client.send(method: .GET, path: "/healthz"), response.status == 200 { return }
            guard process.isRunning else {
                throw ClientError(
                    "node exited early; log: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClientError("node on port \(port) not healthy within \(deadline)")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// A port that was free a moment ago (bind to port 0, read it, close).
    /// A port no one listens on, below Linux's ephemeral range (32768 and up), so that the
    /// outgoing connections of tests running alongside cannot take it before the process
    /// it is meant for listens.
    static func freePort() -> Int {
        while true {
            let port = Int.random(in: 12_000..<32_000)
            if canBind(port) { return port }
        }
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        } == 0
    }
}
