import Foundation
import RingstoreClient
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `ringstore` executable as a user runs it: graceful shutdown and the CLI.
@Suite(.serialized) struct ProcessLifecycleTests {
    final class AcknowledgedCount: Sendable {
        let count = Mutex(0)
    }

    @Test func sigtermFinishesAcceptedWritesAndExitsCleanly() async throws {
        let directory = "/tmp/ringstore-sigterm-test-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try NodeProcess(dataDirectory: directory, port: NodeProcess.freePort())
        try await node.waitUntilHealthy()
        let client = try node.client
        let counted = AcknowledgedCount()
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { writers in
            for writer in 0..<8 {
                writers.addTask {
                    var acked: [String] = []
                    for i in 0..<400 {
                        let key = "w\(writer)-\(i)"
                        guard
                            let response = try? await client.put(keyspace: "default", key: key, value: Array(key.utf8))
                        else { break }
                        if response.status == 204 {
                            acked.append(key)
                            counted.count.withLock { $0 += 1 }
                        } else {
                            break
                        }
                    }
                    return acked
                }
            }
            writers.addTask {
                // SIGTERM while writes are in full flow: once some were acknowledged (a loaded
                // machine may take longer than usual to answer the first), within 20 s.
                let deadline = ContinuousClock.now + .seconds(20)
                while counted.count.withLock({ $0 }) < 50, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                kill(node.process.processIdentifier, SIGTERM)
                return []
            }
            return try await writers.reduce(into: []) { $0 += $1 }
        }
        node.process.waitUntilExit()
        #expect(node.process.terminationStatus == 0, "exit status \(node.process.terminationStatus)")
        let log = (try? String(contentsOfFile: node.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("node stopped"), "log: \(log.suffix(500))")
        #expect(!acknowledged.isEmpty)

        let restarted = try NodeProcess(dataDirectory: directory, port: NodeProcess.freePort())
        try await restarted.waitUntilHealthy()
        let reader = try restarted.client
        for key in acknowledged {
            #expect(try await reader.get(keyspace: "default", key: key).body == Array(key.utf8), "\(key) lost")
        }
        restarted.terminate()
    }

    /// Runs the CLI; returns exit status, standard output and standard error.
    func cli(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NodeProcess.binary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self)
        )
    }

    @Test func cliPutGetDeleteWithReadableErrors() async throws {
        let directory = "/tmp/ringstore-cli-test-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try NodeProcess(dataDirectory: directory, port: NodeProcess.freePort())
        try await node.waitUntilHealthy()
        let endpoint = ["--endpoint", "http://127.0.0.1:\(node.port)"]

        #expect(try cli(["put", "default", "greeting", "hello"] + endpoint).0 == 0)
        let (getStatus, value, context) = try cli(["get", "default", "greeting"] + endpoint)
        #expect(getStatus == 0)
        #expect(value == "hello")
        #expect(context.hasPrefix("context: "))

        #expect(try cli(["put", "default", "piped", "-"] + endpoint, stdin: "from stdin").0 == 0)
        #expect(try cli(["get", "default", "piped"] + endpoint).1 == "from stdin")

        #expect(try cli(["delete", "default", "greeting"] + endpoint).0 == 0)
        let (missingStatus, _, missingError) = try cli(["get", "default", "greeting"] + endpoint)
        #expect(missingStatus == 2)
        #expect(missingError.contains("error 404: the key does not exist"), "\(missingError)")

        let (badKeyspace, _, badKeyspaceError) = try cli(["put", "default!", "k", "v"] + endpoint)
        #expect(badKeyspace == 1)
        #expect(badKeyspaceError.contains("keyspace name"), "\(badKeyspaceError)")

        let (created, createdBody, _) = try cli(["keyspace", "create", "users"] + endpoint)
        #expect(created == 0)
        #expect(createdBody.contains("\"name\":\"users\""))

        node.terminate()
        let (down, _, downError) = try cli(["get", "default", "piped"] + endpoint)
        #expect(down == 3)
        #expect(downError.contains("cannot connect"), "\(downError)")

        let (invalid, _, invalidError) = try cli(["get", "default", "k", "--endpoint", "nonsense"])
        #expect(invalid != 0)
        #expect(invalidError.contains("endpoint must look like"), "\(invalidError)")
    }
}
