import Foundation
import RingstoreClient
import Testing

/// Real processes: concurrent writers against a node with `--sync always`, `kill -9`
/// mid-write, restart on the same directory: every acknowledged write is there.
/// (kill -9 keeps the page cache, so this shows crash safety of the process; the power-loss
/// case, unsynced bytes dropped, is LogStoreTests/ModelTests on the simulated disk.)
@Suite(.serialized) struct CrashRecoveryTests {
    actor Acknowledged {
        var values: [String: [UInt8]] = [:]
        var failures = 0
        func ok(_ key: String, _ value: [UInt8]) { values[key] = value }
        func failed() { failures += 1 }
    }

    @Test func everyAcknowledgedWriteSurvivesKillDashNine() async throws {
        let directory = "/tmp/ringstore-crash-test-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for round in 0..<3 {
            let node = try NodeProcess(
                dataDirectory: directory, port: NodeProcess.freePort(),
                extraArguments: ["--segment-bytes-max", "262144", "--compaction-interval-seconds", "1"])
            try await node.waitUntilHealthy()
            let client = try node.client
            let acknowledged = Acknowledged()
            // Writers run until the node is killed: once 200 writes were acknowledged (or
            // after 20 s on a very slow machine), then a second more against the dead node.
            let killDeadline = ContinuousClock.now + .seconds(20)
            let stopped = Stopwatch()
            try await withThrowingTaskGroup(of: Void.self) { writers in
                for writer in 0..<16 {
                    writers.addTask {
                        var i = 0
                        while await !stopped.isPast(.seconds(1)) {
                            let key = "r\(round)-w\(writer)-\(i % 50)"
                            let value =
                                Array("round \(round) writer \(writer) write \(i) ".utf8)
                                + [UInt8](repeating: UInt8(i % 251), count: i % 300)
                            i += 1
                            guard let response = try? await client.put(keyspace: "default", key: key, value: value)
                            else {
                                await acknowledged.failed()
                                continue
                            }
                            if response.status == 204 {
                                await acknowledged.ok(key, value)
                            } else {
                                await acknowledged.failed()
                            }
                        }
                    }
                }
                writers.addTask {
                    while await acknowledged.values.count < 200 && ContinuousClock.now < killDeadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    node.kill9()
                    await stopped.start()
                }
                try await writers.waitForAll()
            }
            let acked = await acknowledged.values
            #expect(acked.count > 100, "round \(round): too few acknowledged writes (\(acked.count)) to mean anything")
            #expect(await acknowledged.failures > 0, "round \(round): the kill did not interrupt any write")

            let restarted = try NodeProcess(dataDirectory: directory, port: NodeProcess.freePort())
            try await restarted.waitUntilHealthy()
            let reader = try restarted.client
            var lost = 0
            for (key, value) in acked {
                let response = try await reader.get(keyspace: "default", key: key)
                // A later write to the same key may have landed without its acknowledgement
                // reaching us; it must then be a later write from the same writer.
                if response.status != 200 || (response.body != value && !isLaterWrite(response.body, than: value)) {
                    lost += 1
                }
            }
            #expect(lost == 0, "round \(round): \(lost) of \(acked.count) acknowledged writes lost")
            restarted.terminate()
        }
    }

    /// Marks a moment and tells whether a duration has passed since.
    actor Stopwatch {
        var started: ContinuousClock.Instant?
        func start() { started = ContinuousClock.now }
        func isPast(_ duration: Duration) -> Bool { started.map { ContinuousClock.now - $0 > duration } ?? false }
    }

    /// Values start with "round R writer W write I "; a later I from the same writer is newer.
    func isLaterWrite(_ found: [UInt8], than expected: [UInt8]) -> Bool {
        func index(_ bytes: [UInt8]) -> (String, Int)? {
            let text = String(decoding: bytes.prefix(64), as: UTF8.self).split(separator: " ")
            guard text.count >= 6, let i = Int(text[5]) else { return nil }
            return (text[0...3].joined(separator: " "), i)
        }
        guard let a = index(found), let b = index(expected) else { return false }
        return a.0 == b.0 && a.1 > b.1
    }
}
