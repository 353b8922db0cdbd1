import Foundation
import RingstoreClient
import Testing

/// etcd and `ringstore serve` members on 127.0.0.1, in a directory of their own that
/// goes with the value: the cluster the cluster tests run against.
final class TestCluster: @unchecked Sendable {
    struct Member {
        var id: String
        var http: Int
        var peer: Int
        var directory: String
    }

    let etcd: EtcdProcess
    let root: String
    private(set) var members: [Member]
    var nodes: [NodeProcess] = []
    /// More `ringstore serve` options for every member.
    let extraArguments: [String]

    /// Starts etcd, writes a ring of `count` nodes (`n1`...) and starts them all. An etcd
    /// that never answers `cluster init` is replaced by a new one on new ports, twice at
    /// most (seen once: an etcd that had logged "ready" refused connections), and what
    /// happened to it is recorded.
    init(nodes count: Int, extraArguments: [String] = []) async throws {
        self.extraArguments = extraArguments
        let root = "/tmp/ringstore-cluster-test-\(UInt64.random(in: 0...UInt64.max))"
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        members = (1...count).map {
            Member(
                id: "n\($0)", http: NodeProcess.freePort(), peer: NodeProcess.freePort(), directory: "\(root)/n\($0)")
        }
        let names = members.map(\.id).joined(separator: ",")
        var started: EtcdProcess?
        var reports: [String] = []
        for _ in 0..<3 where started == nil {
            let candidate = try EtcdProcess()
            var lastAttempt = ""
            let end = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < end {
                let attempt = try EtcdProcess.ringstore([
                    "cluster", "init", "--etcd", candidate.endpoint, "--cluster", "test", "--nodes", names,
                ])
                lastAttempt = attempt.output
                if attempt.status == 0 {
                    started = candidate
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            if started == nil {
                let log = (try? String(contentsOfFile: candidate.directory + "/etcd.log", encoding: .utf8)) ?? "no log"
                let state =
                    candidate.process.isRunning
                    ? "running"
                    : "exited (\(candidate.process.terminationReason), \(candidate.process.terminationStatus))"
                reports.append("etcd \(state); cluster init said: \(lastAttempt)\netcd's log ends: \(log.suffix(800))")
            }
        }
        guard let etcd = started else {
            Issue.record("etcd never answered: \(reports.joined(separator: "\n---\n"))")
            try? FileManager.default.removeItem(atPath: root)
            throw ClientError("etcd never answered")
        }
        if !reports.isEmpty { print("TestCluster: replaced an etcd that did not answer: \(reports)") }
        self.etcd = etcd
        nodes = try members.indices.map { try start($0) }
        for index in nodes.indices { try await waitUntilHealthy(index) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Starts member `index` on its data directory (again, after a kill).
    @discardableResult
    func start(_ index: Int) throws -> NodeProcess {
        let member = members[index]
        let node = try NodeProcess(
            dataDirectory: member.directory, port: member.http,
            extraArguments: [
                "--node-id", member.id, "--peer", "127.0.0.1:\(member.peer)", "--etcd", etcd.endpoint,
                "--cluster", "test",
            ] + extraArguments)
        if index < nodes.count { nodes[index] = node }
        return node
    }

    func client(_ index: Int) throws -> RingstoreClient { try nodes[index].client }

    /// Waits until member `index` answers. A port chosen free can be taken by another test's
    /// process before the member binds it: then the member gets new ports and starts again
    /// (twice at most); any other early exit fails.
    private func waitUntilHealthy(_ index: Int) async throws {
        for attempt in 0..<3 {
            do {
                try await nodes[index].waitUntilHealthy()
                return
            } catch {
                let log = (try? String(contentsOfFile: nodes[index].logPath, encoding: .utf8)) ?? ""
                guard attempt < 2, log.contains("Address already in use") else { throw error }
                print("TestCluster: \(members[index].id) lost its port to another process; new ports")
                members[index].http = NodeProcess.freePort()
                members[index].peer = NodeProcess.freePort()
                try? FileManager.default.removeItem(atPath: nodes[index].logPath)
                try start(index)
            }
        }
    }

    /// Starts one more member (`n<count+1>`) on new ports; it registers in etcd and holds
    /// nothing until a committed plan gives it partitions. Returns its index.
    @discardableResult
    func addMember() async throws -> Int {
        let id = "n\(members.count + 1)"
        members.append(
            Member(id: id, http: NodeProcess.freePort(), peer: NodeProcess.freePort(), directory: "\(root)/\(id)"))
        nodes.append(try start(members.count - 1))
        try await waitUntilHealthy(members.count - 1)
        return members.count - 1
    }

    /// `ringstore cluster ARGUMENTS` against this cluster.
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try EtcdProcess.ringstore(["cluster"] + arguments + ["--etcd", etcd.endpoint, "--cluster", "test"])
    }

    /// What `GET /v1/cluster` on member `index` says, whole.
    func clusterDocument(from index: Int) async throws -> [String: Any] {
        let response = try await client(index).send(method: .GET, path: "/v1/cluster")
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    /// `ringstore cluster status` against this cluster.
    func status() throws -> (status: Int32, output: String) {
        try EtcdProcess.ringstore(["cluster", "status", "--etcd", etcd.endpoint, "--cluster", "test"])
    }

    /// What `GET /v1/cluster` on member `index` says about each member, by id.
    func view(from index: Int) async throws -> [String: [String: Any]] {
        let response = try await client(index).send(method: .GET, path: "/v1/cluster")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let members = object?["nodes"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: members.map { ($0["id"] as? String ?? "", $0) })
    }

    /// Creates a keyspace through member 0 and waits until every member knows it.
    func createKeyspace(_ name: String, definitionJSON: String) async throws {
        let created = try await client(0).createKeyspace(name, definitionJSON: definitionJSON)
        #expect(created.status == 201, "\(created.bodyText)")
        for index in nodes.indices {
            let client = try client(index)
            try await Self.eventually("every node knows keyspace \(name)") {
                try await client.send(method: .GET, path: "/v1/keyspaces/\(name)").status == 200
            }
        }
    }

    func stopAll() { for node in nodes { node.terminate() } }

    /// Waits until `check` holds, polling for up to `seconds`.
    static func eventually(_ what: String, seconds: Int = 20, _ check: () async throws -> Bool) async throws {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
        throw ClientError("timed out waiting until \(what)")
    }
}
