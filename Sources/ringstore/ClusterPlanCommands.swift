import ArgumentParser
import Foundation
import RingstoreCore
import RingstoreServer

/// Staged ring changes (Riak's `cluster join/leave/replace/plan`): each command adds a
/// change to `/ringstore/<cluster>/staged` in etcd (a compare-and-swap, so concurrent
/// stagings do not lose each other), `plan` shows the ring they would give and what would
/// move, `unstage` forgets them.
enum ClusterStaging {
    /// The cluster's ring, its keyspaces' largest replication factor, and the staged
    /// changes with the revision they were read at (0: none staged).
    static func read(_ options: ClusterOptions) async throws -> (
        ring: Ring, replicas: Int, staged: StagedChanges, revision: Int64
    ) {
        let (etcd, metadata) = try options.connect()
        let (ringEntry, keyspaceEntries, stagedEntry) = try await etcdCall {
            (
                try await etcd.range(metadata.ringKey).first,
                try await etcd.range(metadata.keyspacesPrefix, prefix: true),
                try await etcd.range(metadata.stagedKey).first
            )
        }
        guard let ringEntry,
            let document = ClusterMetadata.decode(ClusterMetadata.RingDocument.self, ringEntry.value),
            let ring = try? document.ring()
        else {
            FileOutput.standardError(
                "ringstore: cluster '\(options.cluster)' has no ring; run `ringstore cluster init`\n")
            throw ExitCode(1)
        }
        let factors = keyspaceEntries.compactMap { ClusterMetadata.decode(Keyspace.self, $0.value)?.replicationFactor }
        var staged = StagedChanges()
        if let stagedEntry {
            guard let decoded = ClusterMetadata.decode(StagedChanges.self, stagedEntry.value) else {
                FileOutput.standardError(
                    "ringstore: the staged changes in etcd are unreadable; run `cluster unstage`\n")
                throw ExitCode(1)
            }
            staged = decoded
        }
        return (ring, factors.max() ?? 3, staged, stagedEntry?.modRevision ?? 0)
    }

    /// The ring in `entry`, or exit 1 with a message when the cluster has none.
    static func ring(_ entry: EtcdClient.KeyValue?, _ options: ClusterOptions) throws -> Ring {
        guard let entry, let document = ClusterMetadata.decode(ClusterMetadata.RingDocument.self, entry.value),
            let ring = try? document.ring()
        else {
            FileOutput.standardError(
                "ringstore: cluster '\(options.cluster)' has no ring; run `ringstore cluster init`\n")
            throw ExitCode(1)
        }
        return ring
    }

    /// Applies `change` to the staged changes and stores them if nobody staged anything
    /// meanwhile (else reads them again and retries).
    static func stage(
        _ options: ClusterOptions, _ change: (inout StagedChanges, [String]) throws(RingstoreError) -> Void
    ) async throws {
        let (etcd, metadata) = try options.connect()
        for _ in 0..<5 {
            var (ring, _, staged, revision) = try await read(options)
            do {
                try change(&staged, ring.nodes.map(\.name))
            } catch {
                FileOutput.standardError("ringstore: \(error.detail)\n")
                throw ExitCode(1)
            }
            let compare: EtcdClient.Compare =
                revision == 0 ? .createRevision(metadata.stagedKey, 0) : .modRevision(metadata.stagedKey, revision)
            let (stored, _) = try await etcdCall {
                try await etcd.transaction([compare], puts: [(metadata.stagedKey, ClusterMetadata.encode(staged), nil)])
            }
            if stored {
                print("staged; `ringstore cluster plan` shows what the changes would move")
                return
            }
        }
        FileOutput.standardError("ringstore: the staged changes kept changing under this command; try again\n")
        throw ExitCode(1)
    }
}

extension ClusterCommand {
    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stage a node's join to the ring.")
        @OptionGroup var options: ClusterOptions
        @Argument(help: "The node id that joins.") var node: String

        func run() async throws {
            try await ClusterStaging.stage(options) { (staged, members) throws(RingstoreError) in
                try staged.join(node, members: members)
            }
        }
    }

    struct Leave: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stage a node's leaving the ring.")
        @OptionGroup var options: ClusterOptions
        @Argument(help: "The node id that leaves.") var node: String

        func run() async throws {
            try await ClusterStaging.stage(options) { (staged, members) throws(RingstoreError) in
                try staged.leave(node, members: members)
            }
        }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stage the replacement of a node by another.")
        @OptionGroup var options: ClusterOptions
        @Argument(help: "The node id that goes.") var node: String
        @Argument(help: "The node id that takes its partitions.") var replacement: String

        func run() async throws {
            try await ClusterStaging.stage(options) { (staged, members) throws(RingstoreError) in
                try staged.replace(node, by: replacement, members: members)
            }
        }
    }

    struct Unstage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget every staged ring change.")
        @OptionGroup var options: ClusterOptions

        func run() async throws {
            try await ClusterStaging.stage(options) { staged, _ in staged = StagedChanges() }
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the ring the staged changes would give, and what would move.")
        @OptionGroup var options: ClusterOptions

        func run() async throws {
            let (ring, replicas, staged, _) = try await ClusterStaging.read(options)
            guard !staged.isEmpty else {
                print("nothing staged (`ringstore cluster join|leave|replace` stage changes)")
                return
            }
            let plan: RingPlan
            do {
                plan = try RingPlan(ring: ring, changes: staged, replicas: replicas)
            } catch {
                FileOutput.standardError("ringstore: \(error.detail)\n")
                throw ExitCode(1)
            }
            var lines = staged.joins.map { "join \($0)" } + staged.leaves.map { "leave \($0)" }
            lines += staged.replacements.map { "replace \($0.first ?? "?") by \($0.last ?? "?")" }
            print("staged: \(lines.joined(separator: "; "))")
            print(
                "ring: \(ring.partitionCount) partitions, \(plan.after.replicas) replicas of each (the largest replication factor), \(ring.nodes.count) -> \(plan.members.count) nodes"
            )
            let (replicasBefore, replicasAfter) = (plan.before.replicaCounts(), plan.after.replicaCounts())
            let (primariesBefore, primariesAfter) = (plan.before.primaryCounts(), plan.after.primaryCounts())
            print("NODE        REPLICAS      PRIMARIES")
            for node in Set(ring.nodes).union(plan.members).sorted() {
                let held = "\(replicasBefore[node] ?? 0) -> \(replicasAfter[node] ?? 0)"
                print(
                    node.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                        + held.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + "\(primariesBefore[node] ?? 0) -> \(primariesAfter[node] ?? 0)")
            }
            print(
                "partition replicas to move: \(plan.moves) (the least any balanced claim needs: \(plan.minimumMoves))")
            print(await ClusterCommand.bytesToMove(plan, options))
            print("`ringstore cluster commit` carries it out")
        }
    }

    /// What the plan would copy, estimated from the keys the running nodes hold of each
    /// partition (`held` in `/v1/cluster`) and their stores' bytes per key.
    static func bytesToMove(_ plan: RingPlan, _ options: ClusterOptions) async -> String {
        guard let (etcd, metadata) = try? options.connect(),
            let registrations = try? await etcd.range(metadata.nodesPrefix, prefix: true),
            let keyspaceEntries = try? await etcd.range(metadata.keyspacesPrefix, prefix: true)
        else { return "bytes to move: unknown (etcd did not answer)" }
        var registered: [String: ClusterMetadata.Registration] = [:]
        for entry in registrations {
            registered[String(entry.key.dropFirst(metadata.nodesPrefix.count))] = ClusterMetadata.decode(
                ClusterMetadata.Registration.self, entry.value)
        }
        var keys: [String: [Int: Int]] = [:]
        var bytesPerKey: [Double] = []
        for (_, view) in await Status.clusterDocuments(registered) {
            if let perKey = view["stored_bytes_per_key"] as? Double { bytesPerKey.append(perKey) }
            for held in view["held"] as? [[String: Any]] ?? [] {
                guard let keyspace = held["keyspace"] as? String, let partition = held["partition"] as? Int,
                    let count = held["keys"] as? Int
                else { continue }
                keys[keyspace, default: [:]][partition] = max(keys[keyspace]?[partition] ?? 0, count)
            }
        }
        guard !bytesPerKey.isEmpty else { return "bytes to move: unknown (no node answered)" }
        let perKey = bytesPerKey.reduce(0, +) / Double(bytesPerKey.count)
        var copied = 0
        for keyspace in keyspaceEntries.compactMap({ ClusterMetadata.decode(Keyspace.self, $0.value) })
        where keyspace.mode == .leaderless {
            let n = keyspace.replicationFactor
            for partition in 0..<plan.before.partitionCount {
                let before = Set(plan.before.owners[partition].prefix(n))
                let incoming = plan.after.owners[partition].prefix(n).filter { !before.contains($0) }.count
                copied += incoming * (keys[keyspace.name.name]?[partition] ?? 0)
            }
        }
        let mebibytes = Double(copied) * perKey / Double(1 << 20)
        return String(
            format:
                "bytes to move: about %.1f MiB (%d keys copied, at the %d answering nodes' %.0f stored bytes per key)",
            mebibytes, copied, bytesPerKey.count, perKey)
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Commit the staged changes: the ring starts moving partitions, with their data, to their new owners.")
        @OptionGroup var options: ClusterOptions

        func run() async throws {
            let (etcd, metadata) = try options.connect()
            let (ringEntry, keyspaceEntries, stagedEntry, registrations) = try await etcdCall {
                (
                    try await etcd.range(metadata.ringKey).first,
                    try await etcd.range(metadata.keyspacesPrefix, prefix: true),
                    try await etcd.range(metadata.stagedKey).first,
                    try await etcd.range(metadata.nodesPrefix, prefix: true)
                )
            }
            let ring = try ClusterStaging.ring(ringEntry, options)
            guard let ringEntry, let stagedEntry,
                let staged = ClusterMetadata.decode(StagedChanges.self, stagedEntry.value), !staged.isEmpty
            else {
                FileOutput.standardError(
                    "ringstore: nothing staged to commit (`ringstore cluster join|leave|replace` stage changes)\n")
                throw ExitCode(1)
            }
            let keyspaces = keyspaceEntries.compactMap { ClusterMetadata.decode(Keyspace.self, $0.value) }
            if let leader = keyspaces.first(where: { $0.mode == .leader }) {
                FileOutput.standardError(
                    "ringstore: keyspace '\(leader.name)' is in leader mode, and moving leader-mode partitions is not supported yet; the ring was not changed\n"
                )
                throw ExitCode(1)
            }
            let registered = Set(registrations.map { String($0.key.dropFirst(metadata.nodesPrefix.count)) })
            let arriving = staged.joins + staged.replacements.compactMap { $0.last }
            if let absent = arriving.first(where: { !registered.contains($0) }) {
                FileOutput.standardError(
                    "ringstore: \(absent) is not running; start it first (`ringstore serve --node-id \(absent) --etcd ... --cluster \(options.cluster)`)\n"
                )
                throw ExitCode(1)
            }
            let next: Ring
            let plan: RingPlan
            do {
                plan = try RingPlan(
                    ring: ring, changes: staged, replicas: keyspaces.map(\.replicationFactor).max() ?? 3)
                next = try ring.committing(plan.after, members: plan.members)
            } catch {
                FileOutput.standardError("ringstore: \(error.detail)\n")
                throw ExitCode(1)
            }
            let (committed, _) = try await etcdCall {
                try await etcd.transaction(
                    [
                        .modRevision(metadata.ringKey, ringEntry.modRevision),
                        .modRevision(metadata.stagedKey, stagedEntry.modRevision),
                    ],
                    puts: [(metadata.ringKey, ClusterMetadata.encode(ClusterMetadata.RingDocument(ring: next)), nil)],
                    deletes: [metadata.stagedKey])
            }
            guard committed else {
                FileOutput.standardError(
                    "ringstore: the ring or the staged changes changed meanwhile; nothing was committed (run `cluster plan` and commit again)\n"
                )
                throw ExitCode(1)
            }
            print(
                "committed: ring version \(next.version); \(next.moves.count) partitions move (\(plan.moves) partition replicas)"
            )
            print("`ringstore cluster status` shows the transfers; they end on their own")
        }
    }
}
