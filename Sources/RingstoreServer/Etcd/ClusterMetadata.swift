import Foundation
import RingstoreCore

/// Where a cluster keeps its metadata in etcd, and its JSON forms (DESIGN section 7):
///
/// - `/ringstore/<cluster>/ring`: `{"partitions": 64, "nodes": ["n1", "n2", "n3"]}` as
///   `cluster init` writes it; once a plan was committed also `version`, `owners` (each
///   partition's owners in preference order) and `moves` (`RingDocument`). It changes
///   only by compare-and-swap.
/// - `/ringstore/<cluster>/nodes/<id>`: `{"http": "HOST:PORT", "peer": "HOST:PORT",
///   "ring_version": V}`, bound to the node's lease, so it disappears when the node stops
///   renewing it
/// - `/ringstore/<cluster>/keyspaces/<name>`: the keyspace definition
/// - `/ringstore/<cluster>/staged`: ring changes staged for the next plan (`StagedChanges`)
public struct ClusterMetadata: Sendable {
    public let cluster: String

    public init(cluster: String) throws(RingstoreError) {
        guard !cluster.isEmpty, cluster.utf8.count <= 64,
            cluster.utf8.allSatisfy({
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (97...122).contains($0)
            })
        else {
            throw RingstoreError(.invalidParameter, "a cluster name is 1-64 of a-z, 0-9, '-' and '_', not '\(cluster)'")
        }
        self.cluster = cluster
    }

    public var root: String { "/ringstore/\(cluster)/" }
    public var ringKey: String { root + "ring" }
    public var nodesPrefix: String { root + "nodes/" }
    public var keyspacesPrefix: String { root + "keyspaces/" }
    /// Ring changes staged and not committed (`StagedChanges`).
    public var stagedKey: String { root + "staged" }

    /// The ring as stored in etcd: the partition count and the members, and, once a
    /// claim placed them (`RingClaim`), each partition's owners in preference order and
    /// the ring's version (absent: the round-robin claim of `cluster init`, version 1).
    public struct RingDocument: Codable, Sendable {
        public var partitions: Int
        public var nodes: [String]
        public var version: Int?
        public var owners: [[String]]?
        /// Partitions whose owners are changing (`PartitionMove`); absent when none are.
        public var moves: [Move]?

        /// One `PartitionMove`: `phase` is `copying` or `draining`, `since` the ring version
        /// the phase began at, `done` the nodes that finished its copy.
        public struct Move: Codable, Sendable {
            public var partition: Int
            public var previous: [String]
            public var target: [String]
            public var phase: String
            public var since: Int
            public var done: [String]
        }

        public init(partitions: Int, nodes: [String], version: Int? = nil, owners: [[String]]? = nil) {
            self.partitions = partitions
            self.nodes = nodes
            self.version = version
            self.owners = owners
        }

        /// The document of `ring` (at its version).
        public init(ring: Ring) {
            let owners =
                ring.isAssigned
                ? (0..<ring.partitionCount).map { ring.explicitOwners(PartitionID($0)).map(\.name) } : nil
            self.init(
                partitions: ring.partitionCount, nodes: ring.nodes.map(\.name), version: ring.version, owners: owners)
            if !ring.moves.isEmpty {
                moves = ring.moves.map {
                    Move(
                        partition: $0.partition, previous: $0.previous.map(\.name), target: $0.target.map(\.name),
                        phase: $0.phase.rawValue, since: $0.since, done: $0.done.map(\.name))
                }
            }
        }

        public func ring() throws(RingstoreError) -> Ring {
            let members = nodes.map(NodeID.init)
            guard let owners else {
                guard moves?.isEmpty ?? true, version ?? 1 == 1 else {
                    throw RingstoreError(.invalidParameter, "a ring that moves partitions lists their owners")
                }
                return try Ring(partitionCount: partitions, nodes: members)
            }
            guard owners.count == partitions else {
                throw RingstoreError(
                    .invalidParameter, "the ring lists owners of \(owners.count) of \(partitions) partitions")
            }
            let lists = owners.map { $0.map(NodeID.init) }
            let replicas = lists.map(\.count).max() ?? 1
            var parsed: [PartitionMove] = []
            for move in moves ?? [] {
                guard let phase = PartitionMove.Phase(rawValue: move.phase) else {
                    throw RingstoreError(
                        .invalidParameter, "a move's phase is copying or draining, not '\(move.phase)'")
                }
                parsed.append(
                    PartitionMove(
                        partition: move.partition, previous: move.previous.map(NodeID.init),
                        target: move.target.map(NodeID.init), phase: phase, since: move.since,
                        done: move.done.map(NodeID.init)))
            }
            return try Ring(
                assignment: RingAssignment(partitionCount: partitions, replicas: replicas, owners: lists),
                nodes: members, version: version ?? 1, moves: parsed)
        }
    }

    /// Where a node listens, as it registers itself in etcd.
    public struct Registration: Codable, Sendable, Equatable {
        public var http: String
        public var peer: String
        /// The ring version the node has installed (absent: not reported yet).
        public var ringVersion: Int?

        enum CodingKeys: String, CodingKey {
            case http, peer
            case ringVersion = "ring_version"
        }

        public init(http: String, peer: String, ringVersion: Int? = nil) {
            self.http = http
            self.peer = peer
            self.ringVersion = ringVersion
        }
    }

    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Splits `HOST:PORT`.
    public static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { return nil }
        return (String(text[..<colon]), port)
    }
}
