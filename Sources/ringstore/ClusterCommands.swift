import ArgumentParser
import Foundation
import RingstoreClient
import RingstoreCore
import RingstoreServer

/// Options naming a cluster in etcd.
struct ClusterOptions: ParsableArguments {
    @Option(help: "etcd's client URL.")
    var etcd: String = "http://127.0.0.1:2379"

    @Option(help: "The cluster's name in etcd.")
    var cluster: String = "ringstore"

    func connect() throws -> (EtcdClient, ClusterMetadata) {
        do {
            return (try EtcdClient(endpoint: etcd), try ClusterMetadata(cluster: cluster))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// Runs an etcd call and turns a failure into a readable message (exit 3: unreachable).
func etcdCall<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileOutput.standardError("ringstore: etcd: \(error)\n")
        throw ExitCode(3)
    }
}

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Create a cluster's ring in etcd, show the cluster, stage and plan ring changes.",
        subcommands: [
            Init.self, Status.self, Join.self, Leave.self, Replace.self, Plan.self, Commit.self, Unstage.self,
        ])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new cluster's ring to etcd.")

        @OptionGroup var options: ClusterOptions

        @Option(help: "The member node ids, comma-separated: n1,n2,n3.")
        var nodes: String

        @Option(help: "Partitions on the ring (a power of two, at least the node count).")
        var partitions: Int = 64

        func run() async throws {
            let (etcd, metadata) = try options.connect()
            let ids = nodes.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard !ids.isEmpty, ids.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 }) else {
                throw ValidationError("--nodes must list node ids, like n1,n2,n3")
            }
            let ring: Ring
            do {
                ring = try Ring(partitionCount: partitions, nodes: ids.map(NodeID.init))
            } catch {
                throw ValidationError(error.detail)
            }
            let document = ClusterMetadata.RingDocument(partitions: partitions, nodes: ring.nodes.map(\.name))
            let created = try await etcdCall {
                try await etcd.create(metadata.ringKey, ClusterMetadata.encode(document))
            }
            guard created else {
                FileOutput.standardError("ringstore: cluster '\(options.cluster)' already has a ring in etcd\n")
                throw ExitCode(1)
            }
            // The `default` keyspace every node has: N = 3, or fewer on a smaller cluster.
            let defaultKeyspace = KeyspaceRequest().keyspace(named: .default, nodeCount: ring.nodes.count)
            _ = try await etcdCall {
                try await etcd.create(metadata.keyspacesPrefix + "default", ClusterMetadata.encode(defaultKeyspace))
            }
            print("cluster '\(options.cluster)': \(ring.nodes.count) nodes, \(partitions) partitions")
        }
    }

    struct Status: AsyncParsableCommand {
        /// What the registered nodes that answer report: how suspicious each peer looks to
        /// the first of them, and how many hints each keeps for each peer.
        struct Views {
            var viewer: String?
            var phis: [String: Double] = [:]
            /// hints[keeper][owner]
            var hints: [String: [String: Int]] = [:]
            /// Per node: partition replicas held, how many ever converged, the oldest convergence.
            var antiEntropy: [String: (held: Int, converged: Int, oldestMillisAgo: Int?)] = [:]
            /// Leader-mode partitions as their leaders report them, by "keyspace/partition".
            var leaderPartitions: [String: [String: Any]] = [:]
            /// Each node's failover loss report (`leader_losses`), by node.
            var leaderLosses: [(node: String, loss: [String: Any])] = []
        }

        /// `GET /v1/cluster` of every registered node that answers within 2 s, by node id in order.
        static func clusterDocuments(_ registered: [String: ClusterMetadata.Registration]) async -> [(
            id: String, view: [String: Any]
        )] {
            var documents: [(String, [String: Any])] = []
            for (id, registration) in registered.sorted(by: { $0.key < $1.key }) {
                guard let client = try? RingstoreClient(endpoint: registration.http, timeout: .seconds(2)),
                    let response = try? await client.send(method: .GET, path: "/v1/cluster"), response.status == 200,
                    let view = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                else { continue }
                documents.append((id, view))
            }
            return documents
        }

        static func views(_ registered: [String: ClusterMetadata.Registration]) async -> Views {
            var views = Views()
            for (id, view) in await clusterDocuments(registered) {
                guard let nodes = view["nodes"] as? [[String: Any]] else { continue }
                for node in nodes {
                    guard let name = node["id"] as? String else { continue }
                    if views.viewer == nil, let phi = node["phi"] as? Double { views.phis[name] = phi }
                    if let count = node["hints"] as? Int, count > 0 { views.hints[id, default: [:]][name] = count }
                }
                if views.viewer == nil { views.viewer = id }
                let replicas = view["anti_entropy"] as? [[String: Any]] ?? []
                let ages = replicas.compactMap { $0["converged_ms_ago"] as? Int }
                views.antiEntropy[id] = (replicas.count, ages.count, ages.max())
                for loss in view["leader_losses"] as? [[String: Any]] ?? [] { views.leaderLosses.append((id, loss)) }
                for partition in view["leader_partitions"] as? [[String: Any]] ?? []
                where partition["role"] as? String == "leader" {
                    let name = "\(partition["keyspace"] as? String ?? "?")/\(partition["partition"] as? Int ?? -1)"
                    views.leaderPartitions[name] = partition
                }
            }
            return views
        }

        static let configuration = CommandConfiguration(
            abstract: "Show nodes (alive or not), partitions per node, and keyspaces.")

        @OptionGroup var options: ClusterOptions

        func run() async throws {
            let (etcd, metadata) = try options.connect()
            let (ringEntry, registrations, keyspaceEntries) = try await etcdCall {
                (
                    try await etcd.range(metadata.ringKey).first,
                    try await etcd.range(metadata.nodesPrefix, prefix: true),
                    try await etcd.range(metadata.keyspacesPrefix, prefix: true)
                )
            }
            let ring = try ClusterStaging.ring(ringEntry, options)
            var registered: [String: ClusterMetadata.Registration] = [:]
            for entry in registrations {
                registered[String(entry.key.dropFirst(metadata.nodesPrefix.count))] = ClusterMetadata.decode(
                    ClusterMetadata.Registration.self, entry.value)
            }
            let primaries = ring.primaryCounts()
            let views = await Self.views(registered)
            print(
                "cluster \(options.cluster): ring version \(ring.version), \(ring.nodes.count) nodes, \(ring.partitionCount) partitions"
            )
            let header = "NODE".padding(toLength: 12, withPad: " ", startingAt: 0)
            print(
                header
                    + "STATE          PRIMARIES  HTTP                  PEER                  HINTS KEPT/FOR IT  PHI (as \(views.viewer ?? "nobody") sees it)"
            )
            let outside = registered.keys.map(NodeID.init).filter { !ring.nodes.contains($0) }.sorted()
            for node in ring.nodes + outside {
                let registration = registered[node.name]
                let state = ((registration == nil ? "down " : "alive") + " " + ring.state(of: node).rawValue)
                    .padding(toLength: 13, withPad: " ", startingAt: 0)
                let count = String(primaries[node] ?? 0).padding(toLength: 11, withPad: " ", startingAt: 0)
                let http = (registration?.http ?? "-").padding(toLength: 22, withPad: " ", startingAt: 0)
                let peer = (registration?.peer ?? "-").padding(toLength: 22, withPad: " ", startingAt: 0)
                let kept = views.hints[node.name, default: [:]].values.reduce(0, +)
                let forIt = views.hints.values.compactMap { $0[node.name] }.reduce(0, +)
                let hints = "\(kept)/\(forIt)".padding(toLength: 19, withPad: " ", startingAt: 0)
                var phi = "-"
                if let value = views.phis[node.name] {
                    phi = String(format: "%.1f", value) + (value > 8 ? " suspected" : "")
                }
                print(
                    node.name.padding(toLength: 12, withPad: " ", startingAt: 0) + state + "  " + count + http + peer
                        + hints + phi)
            }
            if !outside.isEmpty {
                print(
                    "outside the ring, holding nothing (a node that left may be stopped; a new one waits for `cluster join`): \(outside.map(\.name).joined(separator: ", "))"
                )
            }
            Self.printTransfers(ring)
            print("anti-entropy (partition replicas that converged with their peer):")
            for (id, summary) in views.antiEntropy.sorted(by: { $0.key < $1.key }) {
                let oldest = summary.oldestMillisAgo.map {
                    String(format: ", the oldest %.1f s ago", Double($0) / 1000)
                }
                print("  \(id): \(summary.converged)/\(summary.held)\(oldest ?? "")")
            }
            let keyspaces = keyspaceEntries.compactMap { ClusterMetadata.decode(Keyspace.self, $0.value) }
            print("keyspaces: \(keyspaces.isEmpty ? "none" : "")")
            for keyspace in keyspaces {
                if keyspace.mode == .leader {
                    print(
                        "  \(keyspace.name) mode=leader n=\(keyspace.replicationFactor) min_in_sync=\(keyspace.minInSync ?? 1) ack=\(keyspace.ack?.rawValue ?? "all")"
                    )
                } else {
                    print(
                        "  \(keyspace.name) mode=\(keyspace.mode.rawValue) n=\(keyspace.replicationFactor) conflict=\(keyspace.conflict.rawValue) read=\(keyspace.read) write=\(keyspace.write) sloppy=\(keyspace.sloppy)"
                    )
                }
            }
            Self.printLeaderPartitions(keyspaces.filter { $0.mode == .leader }, ring: ring, views: views)
            Self.printLeaderLosses(views)
        }

        /// The partitions a committed plan still moves, one line each.
        static func printTransfers(_ ring: Ring) {
            guard !ring.moves.isEmpty else {
                print("transfers: none in progress")
                return
            }
            print("transfers (\(ring.moves.count) partitions moving):")
            for move in ring.moves {
                let from = move.previous.filter { !move.target.contains($0) }.map(\.name)
                let done = move.done.isEmpty ? "" : ", done: \(move.done.map(\.name).joined(separator: ","))"
                print(
                    "  partition \(move.partition) \(move.phase.rawValue) since ring \(move.since): "
                        + "\(move.previous.map(\.name).joined(separator: ",")) -> \(move.target.map(\.name).joined(separator: ","))"
                        + " (out: \(from.isEmpty ? "-" : from.joined(separator: ",")), copying: \(move.required.map(\.name).joined(separator: ","))\(done))"
                )
            }
        }

        /// One line per cut a node reported (the failover loss report): only `ack=leader`
        /// writes can be among the entries, and those acknowledged are lost.
        static func printLeaderLosses(_ views: Views) {
            guard !views.leaderLosses.isEmpty else { return }
            print(
                "leader-mode losses (uncommitted entries cut when a newer leader's log parted; acknowledged ack=leader writes among them are lost):"
            )
            let time = ISO8601DateFormatter()
            time.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            func stamp(_ millis: Any?) -> String {
                guard let millis = millis as? Int else { return "?" }
                return time.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
            }
            for (node, loss) in views.leaderLosses {
                let name = "\(loss["keyspace"] as? String ?? "?")/\(loss["partition"] as? Int ?? -1)"
                let entries = loss["entries"] as? Int ?? 0
                let written =
                    loss["written_from_ms"] == nil
                    ? "" : ", written \(stamp(loss["written_from_ms"])) to \(stamp(loss["written_through_ms"]))"
                print(
                    "  \(node.padding(toLength: 6, withPad: " ", startingAt: 0)) \(name): \(entries) entries "
                        + "\(loss["first"] as? String ?? "?")...\(loss["last"] as? String ?? "?") cut for epoch "
                        + "\(loss["epoch"] as? Int ?? 0) at \(stamp(loss["cut_at_ms"]))\(written)")
            }
        }

        /// One line per leader-mode partition: its leader, epoch, ISR, high watermark, the
        /// leader's log (first and last sequence held) and each follower's lag, as the leader
        /// reports them ("no leader" where none answered).
        static func printLeaderPartitions(_ keyspaces: [Keyspace], ring: Ring, views: Views) {
            guard !keyspaces.isEmpty else { return }
            print("leader-mode partitions:")
            print("  PARTITION        LEADER      EPOCH      ISR               HW          LOG                LAG")
            for keyspace in keyspaces {
                for index in 0..<ring.partitionCount {
                    let name = "\(keyspace.name)/\(index)"
                    let column = "  " + name.padding(toLength: 17, withPad: " ", startingAt: 0)
                    guard let view = views.leaderPartitions[name] else {
                        print(column + "no leader")
                        continue
                    }
                    let isr = (view["in_sync"] as? [String] ?? []).joined(separator: ",")
                    let log = "\(view["log_start"] as? Int ?? 1)..\(view["last"] as? Int ?? 0)"
                    let lag = (view["lag"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map {
                        "\($0.key)=\($0.value)"
                    }
                    print(
                        column + (view["leader"] as? String ?? "-").padding(toLength: 12, withPad: " ", startingAt: 0)
                            + String(view["epoch"] as? Int ?? 0).padding(toLength: 11, withPad: " ", startingAt: 0)
                            + isr.padding(toLength: 18, withPad: " ", startingAt: 0)
                            + String(view["high_watermark"] as? Int ?? 0).padding(
                                toLength: 12, withPad: " ", startingAt: 0)
                            + log.padding(toLength: 19, withPad: " ", startingAt: 0)
                            + lag.joined(separator: " "))
                }
            }
        }
    }
}
