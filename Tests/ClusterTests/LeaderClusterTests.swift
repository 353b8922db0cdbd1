import Foundation
import Linearizability
import RingstoreClient
import RingstoreCore
import Synchronization
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Leader mode with real processes: etcd and three `ringstore serve` members on
/// 127.0.0.1. Requests through any node reach the partition's leader; conditions are
/// atomic; the leader is killed (`kill -9`) and another one paused past its lease
/// (SIGSTOP, SIGCONT) while clients write `ack=all` and read `linearizable`: the
/// recorded history must be linearizable and no acknowledged write may be lost.
@Suite(.serialized) struct LeaderClusterTests {
    static let definition = #"{"mode":"leader","replication_factor":3,"min_in_sync":2,"ack":"all"}"#

    @Test func everyNodeServesLeaderModeWithAtomicConditions() async throws {
        let cluster = try await TestCluster(nodes: 3)
        try await cluster.createKeyspace("orders", definitionJSON: Self.definition)
        let clients = try (0..<3).map { try cluster.client($0) }
        // The first write waits for the partitions' first elections.
        var written: ClientResponse?
        try await TestCluster.eventually("a first ack=all write is acknowledged") {
            written = try await clients[0].put(keyspace: "orders", key: "a", value: Array("one".utf8))
            return written?.status == 204
        }
        let version = try #require(written?.header(HeaderNames.version))
        #expect(written?.header("ETag") == "\"\(version)\"")
        #expect(written?.header(HeaderNames.leader) != nil)
        for client in clients {
            let linearizable = try await client.get(keyspace: "orders", key: "a")
            #expect(linearizable.status == 200 && linearizable.bodyText == "one", "\(linearizable.bodyText)")
            #expect(linearizable.header(HeaderNames.version) == version)
            // read-your-writes on any replica with the write's token
            let follower = try await client.get(
                keyspace: "orders", key: "a", parameters: [("read", "follower"), ("after", version)])
            #expect(follower.status == 200 && follower.bodyText == "one", "\(follower.bodyText)")
        }
        // Create-only and compare-and-set, through a node that may not lead.
        let create = try await clients[1].send(
            method: .PUT, path: "/v1/kv/orders/a", headers: [("If-None-Match", "*")], body: Array("two".utf8))
        #expect(create.status == 412, "\(create.bodyText)")
        #expect(create.bodyText.contains("current version is \(version)"))
        let swap = try await clients[2].send(
            method: .PUT, path: "/v1/kv/orders/a", headers: [("If-Match", "\"\(version)\"")], body: Array("two".utf8))
        #expect(swap.status == 204, "\(swap.bodyText)")
        let stale = try await clients[1].send(
            method: .PUT, path: "/v1/kv/orders/a", headers: [("If-Match", version)], body: Array("three".utf8))
        #expect(stale.status == 412, "\(stale.bodyText)")
        let fresh = try await clients[0].send(
            method: .PUT, path: "/v1/kv/orders/fresh", headers: [("If-None-Match", "*")], body: Array("new".utf8))
        #expect(fresh.status == 204, "\(fresh.bodyText)")
        // A delete, then the key is gone at every level.
        #expect(try await clients[1].delete(keyspace: "orders", key: "fresh").status == 204)
        #expect(try await clients[2].get(keyspace: "orders", key: "fresh").status == 404)
        let recreate = try await clients[2].send(
            method: .PUT, path: "/v1/kv/orders/fresh", headers: [("If-None-Match", "*")], body: Array("again".utf8))
        #expect(recreate.status == 204, "a deleted key can be created again: \(recreate.bodyText)")
        let leaderRead = try await clients[0].get(keyspace: "orders", key: "fresh", parameters: [("read", "leader")])
        #expect(leaderRead.status == 200 && leaderRead.bodyText == "again", "\(leaderRead.bodyText)")
        // Bad input gets a problem, not a guess.
        for (path, expected) in [
            ("/v1/kv/orders/a?ack=some", "ack is 'leader' or 'all'"), ("/v1/kv/orders/a?w=2", "unknown parameter 'w'"),
        ] {
            let bad = try await clients[0].send(method: .PUT, path: path, body: [1])
            #expect(bad.status == 400 && bad.bodyText.contains(expected), "\(bad.bodyText)")
        }
        for (path, expected) in [
            ("/v1/kv/orders/a?read=eventual", "read is 'linearizable'"), ("/v1/kv/orders/a?after=7", "epoch.sequence"),
            ("/v1/kv/orders/a?r=one", "unknown parameter 'r'"),
        ] {
            let bad = try await clients[0].send(method: .GET, path: path)
            #expect(bad.status == 400 && bad.bodyText.contains(expected), "\(bad.bodyText)")
        }
        // Each partition has one leader, reported with its ISR by that leader.
        var leaders: [String: String] = [:]
        for index in 0..<3 {
            let response = try await clients[index].send(method: .GET, path: "/v1/cluster")
            let view = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let partitions = view?["leader_partitions"] as? [[String: Any]] ?? []
            #expect(partitions.count == 64)
            for partition in partitions where partition["role"] as? String == "leader" {
                let name = "\(partition["keyspace"] ?? "")/\(partition["partition"] ?? "")"
                #expect(leaders[name] == nil, "two leaders of \(name)")
                leaders[name] = cluster.members[index].id
                #expect((partition["in_sync"] as? [String])?.count ?? 0 >= 2)
            }
        }
        #expect(leaders.count == 64)
        // The CLI speaks leader mode too.
        let endpoint = "http://127.0.0.1:\(cluster.members[1].http)"
        let put = try EtcdProcess.ringstore(["put", "--endpoint", endpoint, "--ack", "leader", "orders", "cli", "v1"])
        #expect(put.status == 0 && put.output.contains("version: "), "\(put.output)")
        let again = try EtcdProcess.ringstore(["put", "--endpoint", endpoint, "--if-none-match", "orders", "cli", "v2"])
        #expect(again.status == 1 && again.output.contains("error 412"), "\(again.output)")
        let get = try EtcdProcess.ringstore(["get", "--endpoint", endpoint, "--read", "leader", "orders", "cli"])
        #expect(get.status == 0 && get.output.contains("v1"), "\(get.output)")
        let status = try cluster.status()
        #expect(status.status == 0 && status.output.contains("leader-mode partitions"), "\(status.output)")
        #expect(status.output.contains("orders mode=leader n=3 min_in_sync=2 ack=all"))
    }

    /// A key outside the history in the same partition as `key` (the default 64-partition ring).
    static func key(inPartitionOf key: String) throws -> String {
        let ring = try Ring(nodes: [NodeID("n1"), NodeID("n2"), NodeID("n3")])
        let keyspace = try KeyspaceName(validating: "orders")
        let target = ring.partition(keyspace: keyspace, key: try Key(validating: Array(key.utf8)))
        for index in 0... {
            let candidate = "probe-\(index)"
            if ring.partition(keyspace: keyspace, key: try Key(validating: Array(candidate.utf8))) == target {
                return candidate
            }
        }
        fatalError("unreachable")
    }

    @Test func killedAndPausedLeadersLoseNoAcknowledgedWriteAndReadsStayLinearizable() async throws {
        let cluster = try await TestCluster(nodes: 3)
        try await cluster.createKeyspace("orders", definitionJSON: Self.definition)
        // 32 keys: the histories per key stay short enough for the checker's search (with 8, a
        // run of ~8,000 operations left one key undecided after 50M steps).
        let keys = (0..<32).map { "k\($0)" }
        var leaderOf: [String: String] = [:]
        for key in keys {
            try await TestCluster.eventually("\(key)'s partition has a leader") {
                let response = try await cluster.client(0).put(keyspace: "orders", key: key, value: Array("init".utf8))
                leaderOf[key] = response.header(HeaderNames.leader)
                return response.status == 204
            }
        }
        let history = LeaderHistory(keys: keys)
        history.initial(keys)
        let ports = cluster.members.map(\.http)
        let stop = ContinuousClock.now + .seconds(22)
        let workers = (0..<4).map { client in
            Task { await history.runClient(client, ports: ports, until: stop) }
        }

        // Kill -9 the leader of k0 and time how long until an ack=all write of k0 is
        // acknowledged again (through a surviving node).
        try await Task.sleep(for: .seconds(3))
        let killed = try #require(cluster.members.firstIndex { $0.id == leaderOf["k0"] })
        let survivor = try cluster.client((killed + 1) % 3)
        cluster.nodes[killed].kill9()
        let killedAt = ContinuousClock.now
        var failover: Duration?
        let probeKey = try Self.key(inPartitionOf: "k0")
        while ContinuousClock.now < killedAt + .seconds(30), failover == nil {
            let probe = try? await survivor.put(
                keyspace: "orders", key: probeKey, value: [1], parameters: [("timeout", "1000")])
            if probe?.status == 204 { failover = ContinuousClock.now - killedAt }
            try await Task.sleep(for: .milliseconds(20))
        }
        print("leader mode: \(failover.map { "\($0)" } ?? "no write") from kill -9 of the leader to an ack=all write")
        #expect(failover != nil, "no ack=all write was acknowledged within 30 s of the leader's kill")
        try cluster.start(killed)
        try await cluster.nodes[killed].waitUntilHealthy()

        // Pause the leader of k1 past its 2 s lease, then let it go on.
        try await Task.sleep(for: .seconds(2))
        let leaderOfK1 = try await cluster.client(killed).put(
            keyspace: "orders", key: try Self.key(inPartitionOf: "k1"), value: [1])
        let paused = cluster.members.firstIndex { $0.id == leaderOfK1.header(HeaderNames.leader) } ?? 0
        kill(cluster.nodes[paused].process.processIdentifier, SIGSTOP)
        try await Task.sleep(for: .seconds(4))
        kill(cluster.nodes[paused].process.processIdentifier, SIGCONT)
        for worker in workers { await worker.value }

        // Final linearizable reads, then the checks.
        try await Task.sleep(for: .seconds(1))
        await history.runFinalReads(client: 99, ports: ports)
        let operations = history.operations
        let acknowledged = history.acknowledged
        print(
            "leader mode history: \(operations.values.map(\.count).reduce(0, +)) operations, \(acknowledged.count) acknowledged writes, \(history.unknownWrites) with unknown outcome"
        )
        #expect(acknowledged.count >= 50, "too few writes were acknowledged to say anything")
        let verdict = LinearizabilityChecker(stepLimit: 50_000_000).check(operations)
        #expect(verdict == .linearizable, "\(verdict)")
        // Every acknowledged write's token is still in the log of every replica.
        let lost = Mutex<[String]>([])
        for (index, port) in ports.enumerated() {
            let client = try RingstoreClient(endpoint: "http://127.0.0.1:\(port)", timeout: .seconds(10))
            for (key, token) in acknowledged {
                let response = try await client.get(
                    keyspace: "orders", key: key, parameters: [("read", "follower"), ("after", token)])
                if response.status != 200 && response.status != 404 {
                    lost.withLock { $0.append("\(key)@\(token) on n\(index + 1): \(response.bodyText)") }
                }
            }
        }
        #expect(lost.withLock { $0 }.isEmpty, "acknowledged writes lost: \(lost.withLock { $0 }.prefix(10))")
    }
}

/// The operations clients saw, per key, for the linearizability checker; and each
/// acknowledged write's key and token.
final class LeaderHistory: Sendable {
    let keys: [String]
    private let state = Mutex<
        (operations: [String: [RegisterOperation]], acknowledged: [(String, String)], unknown: Int)
    >(
        ([:], [], 0))
    let start = ContinuousClock.now

    init(keys: [String]) { self.keys = keys }

    var operations: [String: [RegisterOperation]] { state.withLock { $0.operations } }
    var acknowledged: [(String, String)] { state.withLock { $0.acknowledged } }
    var unknownWrites: Int { state.withLock { $0.unknown } }

    var now: Int64 { Int64((ContinuousClock.now - start) / .microseconds(1)) }

    /// The initial writes every key got before the clients started.
    func initial(_ keys: [String]) {
        state.withLock { state in
            for key in keys {
                state.operations[key, default: []].append(
                    RegisterOperation(client: -1, action: .write("init"), call: -2, returned: -1))
            }
        }
    }

    private func record(_ key: String, _ operation: RegisterOperation) {
        state.withLock { $0.operations[key, default: []].append(operation) }
    }

    /// One client: writes (`ack=all`), linearizable reads and compare-and-sets with the
    /// version it last read, on random keys through random nodes, one at a time.
    func runClient(_ client: Int, ports: [Int], until stop: ContinuousClock.Instant) async {
        var random = SystemRandomNumberGenerator()
        var lastRead: [String: (value: String?, version: String?)] = [:]
        var count = 0
        while ContinuousClock.now < stop {
            let key = keys.randomElement(using: &random)!
            let port = ports.randomElement(using: &random)!
            guard let http = try? RingstoreClient(endpoint: "http://127.0.0.1:\(port)", timeout: .seconds(3)) else {
                continue
            }
            count += 1
            let value = "c\(client)-\(count)"
            let call = now
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let (response, sent) = await attempt {
                    try await http.put(keyspace: "orders", key: key, value: Array(value.utf8))
                }
                settleWrite(key, client: client, call: call, response: response, sent: sent, action: .write(value))
            case 4..<6:
                if let seen = lastRead[key], let version = seen.version {
                    let (response, sent) = await attempt {
                        try await http.send(
                            method: .PUT, path: "/v1/kv/orders/\(key)", headers: [("If-Match", version)],
                            body: Array(value.utf8))
                    }
                    if response?.status == 412 {
                        record(
                            key,
                            RegisterOperation(
                                client: client,
                                action: .compareAndSet(expected: seen.value, new: value, succeeded: false), call: call,
                                returned: now))
                    } else {
                        settleWrite(
                            key, client: client, call: call, response: response, sent: sent,
                            action: .compareAndSet(expected: seen.value, new: value, succeeded: true),
                            unknownAction: .compareAndSet(expected: seen.value, new: value, succeeded: nil))
                    }
                    lastRead[key] = nil
                    continue
                }
                fallthrough
            default:
                let response = try? await http.get(keyspace: "orders", key: key)
                if let response, response.status == 200 || response.status == 404 {
                    let read = response.status == 200 ? response.bodyText : nil
                    record(key, RegisterOperation(client: client, action: .read(read), call: call, returned: now))
                    lastRead[key] = (read, response.header(HeaderNames.version))
                }
            }
        }
    }

    /// The response, if one came; `sent` is false when the connection was refused, so the
    /// request reached no node.
    private func attempt(_ request: () async throws -> ClientResponse) async -> (ClientResponse?, sent: Bool) {
        do {
            return (try await request(), true)
        } catch {
            return (nil, !"\(error)".hasPrefix("cannot connect"))
        }
    }

    /// A 204 returned; a 503 `unavailable` (refused: nothing was written) or a request that
    /// reached no node is dropped; no answer or any other failure leaves the outcome unknown.
    private func settleWrite(
        _ key: String, client: Int, call: Int64, response: ClientResponse?, sent: Bool,
        action: RegisterOperation.Action, unknownAction: RegisterOperation.Action? = nil
    ) {
        guard sent else { return }
        if let response, response.status == 204, let token = response.header(HeaderNames.version) {
            record(key, RegisterOperation(client: client, action: action, call: call, returned: now))
            state.withLock { $0.acknowledged.append((key, token)) }
            return
        }
        if let response, response.status == 503, response.bodyText.contains("problems/unavailable") { return }
        state.withLock { $0.unknown += 1 }
        record(key, RegisterOperation(client: client, action: unknownAction ?? action, call: call, returned: nil))
    }

    /// A linearizable read of every key through every node.
    func runFinalReads(client: Int, ports: [Int]) async {
        for port in ports {
            guard let http = try? RingstoreClient(endpoint: "http://127.0.0.1:\(port)", timeout: .seconds(10)) else {
                continue
            }
            for key in keys {
                let call = now
                guard let response = try? await http.get(keyspace: "orders", key: key),
                    response.status == 200 || response.status == 404
                else { continue }
                record(
                    key,
                    RegisterOperation(
                        client: client, action: .read(response.status == 200 ? response.bodyText : nil), call: call,
                        returned: now))
            }
        }
    }
}
