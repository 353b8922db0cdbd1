import Foundation
import NIOCore
import NIOHTTP1
import Prometheus
import Replication
import RingstoreCore
import RingstoreNode
import Synchronization
import Wire

/// The HTTP API of DESIGN section 8 over one node. Reads answer synchronously on the
/// event loop (one `pread` from the page cache); writes await the group commit.
struct Router: Sendable {
    let node: Node
    let registry: PrometheusCollectorRegistry
    let readiness: Readiness
    /// Creates a keyspace: in etcd for a cluster member, in the node's own catalog alone.
    let createKeyspace: @Sendable (Keyspace) async throws(RingstoreError) -> Bool
    /// A cluster member's etcd membership; nil for a node that runs alone.
    let membership: ClusterMembership?
    /// Failure detection of the peers; nil for a node that runs alone.
    let health: PeerHealth?
    /// The store's average bytes per live key (what a copied key costs, about).
    let storedBytesPerKey: @Sendable () -> Double?

    enum Route: String {
        case kv = "/v1/kv"
        case keyspaces = "/v1/keyspaces"
        case cluster = "/v1/cluster"
        case health = "/healthz"
        case ready = "/readyz"
        case metrics = "/metrics"
        case unknown = "other"
    }

    static let contextHeader = HeaderNames.context

    /// Decides which route a path belongs to (for metrics too).
    static func route(of path: String) -> Route {
        let bytes = path.utf8
        if bytes.starts(with: kvPrefix) { return .kv }
        if bytes.elementsEqual("/v1/keyspaces".utf8) || bytes.starts(with: "/v1/keyspaces/".utf8) { return .keyspaces }
        return Route(rawValue: path) ?? .unknown
    }

    static let kvPrefix = Array("/v1/kv/".utf8)

    /// Handles what needs no waiting; nil means "call `handleDeferred`".
    func handleImmediately(_ request: HTTPRequest) -> HTTPResponse? {
        do throws(RingstoreError) {
            switch (request.route, request.method) {
            case (.kv, .GET), (.kv, .HEAD):
                return try immediateGet(request)
            case (.kv, .PUT), (.kv, .DELETE), (.keyspaces, .PUT):
                return nil
            case (.kv, _):
                return Router.methodNotAllowed(request.method, allowed: "GET, HEAD, PUT, DELETE")
            case (.keyspaces, .GET):
                return try listKeyspaces(request)
            case (.keyspaces, _):
                return Router.methodNotAllowed(request.method, allowed: "GET, PUT")
            case (.cluster, .GET):
                return nil  // leader-mode replicas answer their status asynchronously
            case (.cluster, _):
                return Router.methodNotAllowed(request.method, allowed: "GET")
            case (.health, .GET):
                return Router.text("ok\n")
            case (.ready, .GET):
                return readiness.isReady
                    ? Router.text("ready\n")
                    : Problem(
                        status: .serviceUnavailable, code: "not-ready", detail: "the node is starting or stopping"
                    ).response()
            case (.metrics, .GET):
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/plain; version=0.0.4")
                return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: buffer))
            case (.health, _), (.ready, _), (.metrics, _):
                return Router.methodNotAllowed(request.method, allowed: "GET")
            case (.unknown, _):
                return Problem(status: .notFound, code: "no-such-route", detail: "no resource at \(request.path)")
                    .response()
            }
        } catch {
            return Problem(error).response()
        }
    }

    /// Handles what waits on the store or the catalog; `completion` runs once, on any thread.
    func handleDeferred(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        switch (request.route, request.method) {
        case (.kv, _):
            keyValue(request, completion: completion)
        case (.cluster, .GET):
            Task { completion(Router.json(clusterView(leaders: await leaderPartitions()))) }
        case (.keyspaces, .PUT):
            Task {
                do throws(RingstoreError) {
                    completion(try await createKeyspace(from: request))
                } catch {
                    completion(Problem(error).response())
                }
            }
        default:
            preconditionFailure("handleDeferred called for \(request.method) \(request.path)")
        }
    }

    // MARK: Key-value

    /// Sends the request down its keyspace's mode's path. A cluster member that does not
    /// know the keyspace reads etcd's catalog once first, so a keyspace created through
    /// another node a moment ago is found in whichever mode it has.
    private func keyValue(
        _ request: HTTPRequest, refreshed: Bool = false, completion: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let name = (try? address(request.path))?.keyspace
        if let name, let keyspace = try? node.keyspace(named: name) {
            if keyspace.mode == .leader {
                return request.method == .GET || request.method == .HEAD
                    ? leaderGet(request, completion: completion) : leaderWrite(request, completion: completion)
            }
        } else if name != nil, !refreshed, let membership {
            Task {
                await membership.refreshNow()
                keyValue(request, refreshed: true, completion: completion)
            }
            return
        }
        if request.method == .GET || request.method == .HEAD {
            get(request, completion: completion)
        } else {
            write(request, completion: completion)
        }
    }

    /// Whether the request's keyspace is known here to be in leader mode.
    private func isLeaderMode(_ address: KeyAddress) -> Bool {
        (try? node.keyspace(named: address.keyspace))?.mode == .leader
    }

    struct KeyAddress {
        var keyspace: String
        var key: [UInt8]
    }

    /// `/v1/kv/{keyspace}/{key}`: the key is everything after the keyspace, percent-decoded.
    func address(_ path: String) throws(RingstoreError) -> KeyAddress {
        let rest = path.utf8.dropFirst(Router.kvPrefix.count)
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else {
            throw RingstoreError(.invalidKey, "the path must be /v1/kv/{keyspace}/{key}")
        }
        let keyspace = String(decoding: rest[..<slash], as: UTF8.self)
        guard let key = PercentDecoding.decode(rest[rest.index(after: slash)...]) else {
            throw RingstoreError(.invalidKey, "the key is not valid percent-encoding")
        }
        return KeyAddress(keyspace: keyspace, key: key)
    }

    /// The consistency level, timeout and (writes) sloppiness a request asked for;
    /// unknown parameters and bad values are rejected. `levelName` is `r` for reads and
    /// `w` for writes.
    private struct RequestOptions {
        var level: ConsistencyLevel?
        var timeoutMillis: UInt32
        var sloppy: Bool?
    }

    private func options(_ request: HTTPRequest, levelName: String) throws(RingstoreError) -> RequestOptions {
        var options = RequestOptions(level: nil, timeoutMillis: node.defaultTimeoutMillis)
        let isWrite = levelName == "w"
        for (name, value) in request.query {
            switch name {
            case levelName, "consistency":
                options.level = try ConsistencyLevel(parsing: value)
            case "sloppy" where isWrite:
                guard value == "true" || value == "false" else {
                    throw RingstoreError(.invalidParameter, "sloppy is true or false, not '\(value)'")
                }
                options.sloppy = value == "true"
            case "timeout":
                options.timeoutMillis = try Router.timeoutMillis(value)
            default:
                throw RingstoreError(
                    .invalidParameter,
                    "unknown parameter '\(name)'; this request accepts \(levelName), consistency, timeout"
                        + (isWrite ? ", sloppy" : "")
                )
            }
        }
        return options
    }

    /// A request's `timeout` parameter: milliseconds, 1 to 60000.
    static func timeoutMillis(_ value: String) throws(RingstoreError) -> UInt32 {
        guard let millis = UInt32(value), (1...60_000).contains(millis) else {
            throw RingstoreError(.invalidParameter, "timeout is in milliseconds, from 1 to 60000, not '\(value)'")
        }
        return millis
    }

    private func context(_ request: HTTPRequest) throws(RingstoreError) -> CausalContext? {
        guard let text = request.headers.first(name: Router.contextHeader) else { return nil }
        return try CausalContext(decoding: text)
    }

    /// A GET that this node answers alone (it is the key's only replica), or nil when
    /// replicas must be asked.
    private func immediateGet(_ request: HTTPRequest) throws(RingstoreError) -> HTTPResponse? {
        let address = try address(request.path)
        if isLeaderMode(address) { return nil }
        let options = try options(request, levelName: "r")
        do {
            guard
                let outcome = try node.readIfLocal(keyspace: address.keyspace, key: address.key, level: options.level)
            else { return nil }
            return readResponse(outcome, method: request.method)
        } catch  where error.code == .unknownKeyspace && membership != nil {
            return nil  // the deferred path asks etcd before it answers 404
        }
    }

    private func get(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let address: KeyAddress
        let options: RequestOptions
        do throws(RingstoreError) {
            address = try self.address(request.path)
            options = try self.options(request, levelName: "r")
        } catch {
            completion(Problem(error).response())
            return
        }
        node.read(
            keyspace: address.keyspace, key: address.key, level: options.level, timeoutMillis: options.timeoutMillis
        ) { result in
            switch result {
            case .success(let outcome): completion(readResponse(outcome, method: request.method))
            case .failure(let error): completion(Problem(error).response())
            }
        }
    }

    /// 200 with the value, 300 with every sibling, or 404; all with what was achieved.
    private func readResponse(_ outcome: ReadOutcome, method: HTTPMethod) -> HTTPResponse {
        var headers = achieved(outcome.answered, required: outcome.required, coordinator: outcome.coordinator)
        if let object = outcome.object { headers.add(name: Router.contextHeader, value: object.context.encoded) }
        let live = outcome.object?.liveSiblings ?? []
        guard let first = live.first else {
            return Problem(status: .notFound, code: RingstoreError.Code.notFound.name, detail: "the key does not exist")
                .response(extraHeaders: headers)
        }
        var body: [UInt8]
        let status: HTTPResponseStatus
        if live.count == 1 {
            status = .ok
            body = first.value ?? []
            headers.add(name: "Content-Type", value: first.contentType ?? "application/octet-stream")
            headers.add(name: HeaderNames.version, value: first.version.description)
        } else {
            status = .multipleChoices
            body = Router.siblingsDocument(live)
            headers.add(name: "Content-Type", value: "application/json")
        }
        if method == .HEAD {
            headers.add(name: "Content-Length", value: String(body.count))
            body = []
        }
        return HTTPResponse(status: status, headers: headers, body: method == .HEAD ? nil : ByteBuffer(bytes: body))
    }

    /// The body of a 300: every concurrent value, base64-encoded (docs/openapi.yaml).
    static func siblingsDocument(_ siblings: [Sibling]) -> [UInt8] {
        struct Document: Encodable {
            struct Entry: Encodable {
                var value: Data
                var contentType: String
                var version: String
                enum CodingKeys: String, CodingKey {
                    case value
                    case contentType = "content_type"
                    case version
                }
            }
            var siblings: [Entry]
        }
        let document = Document(
            siblings: siblings.map {
                .init(
                    value: Data($0.value ?? []), contentType: $0.contentType ?? "application/octet-stream",
                    version: $0.version.description)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(document)) ?? Data("{}".utf8))
    }

    /// PUT (the body is the value) or DELETE; answered when the level is met or missed.
    private func write(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let address: KeyAddress
        let options: RequestOptions
        let context: CausalContext?
        do throws(RingstoreError) {
            address = try self.address(request.path)
            options = try self.options(request, levelName: "w")
            context = try self.context(request)
        } catch {
            completion(Problem(error).response())
            return
        }
        let isPut = request.method == .PUT
        let write = ClientWrite(
            keyspace: address.keyspace, key: address.key, value: isPut ? Array(request.body.readableBytesView) : nil,
            contentType: isPut ? request.headers.first(name: "Content-Type") : nil, context: context?.clock,
            level: options.level, timeoutMillis: options.timeoutMillis, sloppy: options.sloppy)
        node.write(write) { result in
            switch result {
            case .success(let outcome):
                var headers = achieved(
                    outcome.acknowledged, required: outcome.required, coordinator: outcome.coordinator)
                headers.add(name: Router.contextHeader, value: CausalContext(clock: outcome.context).encoded)
                headers.add(name: HeaderNames.version, value: outcome.version.description)
                if !outcome.hinted.isEmpty {
                    headers.add(name: HeaderNames.hinted, value: outcome.hinted.map(\.name).joined(separator: ","))
                }
                completion(HTTPResponse(status: .noContent, headers: headers))
            case .failure(let error):
                completion(Problem(error).response())
            }
        }
    }

    /// What the request achieved: replicas that answered, how many were needed, who coordinated.
    private func achieved(_ replicas: [NodeID], required: Int, coordinator: NodeID) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: HeaderNames.replicas, value: String(replicas.count))
        headers.add(name: HeaderNames.replicaNames, value: replicas.map(\.name).joined(separator: ","))
        headers.add(name: HeaderNames.required, value: String(required))
        headers.add(name: HeaderNames.coordinator, value: coordinator.name)
        return headers
    }

    // MARK: Cluster

    /// `GET /v1/cluster`: this node's view of the ring and of who is alive.
    struct ClusterView: Encodable {
        struct Member: Encodable {
            var id: String
            var alive: Bool
            var primaries: Int
            /// This node's suspicion of the peer (phi accrual), once it heard from it twice.
            var phi: Double?
            var suspected: Bool?
            /// Hints this node keeps for the member, to hand over once it is reachable.
            var hints: Int
            /// `member`; `joining` (a committed plan gives it partitions it does not hold
            /// yet); `leaving` (it holds partitions a committed plan takes away and will
            /// hold none); `outside` (registered but not in the ring: it holds nothing; a node
            /// that left may be stopped, a new one waits for `ringstore cluster join`).
            var state: String
        }
        /// One partition's owners in preference order.
        struct RingEntry: Encodable {
            var partition: Int
            var owners: [String]
        }
        /// How many keys this node holds of one partition of a leaderless keyspace.
        struct Held: Encodable {
            var keyspace: String
            var partition: Int
            var keys: Int
        }
        /// A partition that moves: its copying or draining phase, the nodes it moves from
        /// and to, and which of the incoming nodes finished the phase's copy.
        struct Transfer: Encodable {
            var partition: Int
            var phase: String
            var from: [String]
            var to: [String]
            var done: [String]
            /// The ring version the phase began at.
            var since: Int
        }
        /// One partition replica this node holds, and when it last converged with its peer.
        struct Convergence: Encodable {
            var keyspace: String
            var partition: Int
            /// Milliseconds since the last exchange that left both replicas equal; absent if none did.
            var convergedMillisAgo: UInt64?

            enum CodingKeys: String, CodingKey {
                case keyspace, partition
                case convergedMillisAgo = "converged_ms_ago"
            }
        }
        var node: String
        var cluster: String?
        var partitions: Int
        var ringVersion: Int
        var ring: [RingEntry]
        var transfers: [Transfer]
        var held: [Held]
        var storedBytesPerKey: Double?
        var nodes: [Member]
        var keyspaces: [String]
        var antiEntropy: [Convergence]
        /// The leader-mode partition replicas this node holds.
        var leaderPartitions: [LeaderPartition]
        /// What this node's leader-mode replicas cut from their logs lately, newest last.
        var leaderLosses: [LeaderLossView]

        enum CodingKeys: String, CodingKey {
            case node, cluster, partitions, nodes, keyspaces, ring, transfers, held
            case ringVersion = "ring_version"
            case storedBytesPerKey = "stored_bytes_per_key"
            case antiEntropy = "anti_entropy"
            case leaderPartitions = "leader_partitions"
            case leaderLosses = "leader_losses"
        }
    }

    /// Entries a replica on this node cut from its log's tail when a newer leader's log
    /// parted from it: uncommitted writes, of which only `ack=leader` ones may have been
    /// acknowledged.
    struct LeaderLossView: Encodable {
        struct Write: Encodable {
            var version: String
            /// The key, base64url.
            var key: String
        }
        var keyspace: String
        var partition: Int
        var epoch: UInt64
        var first: String
        var last: String
        var entries: Int
        var writes: [Write]
        var writtenFromMillis: UInt64?
        var writtenThroughMillis: UInt64?
        var cutAtMillis: UInt64

        enum CodingKeys: String, CodingKey {
            case keyspace, partition, epoch, first, last, entries, writes
            case writtenFromMillis = "written_from_ms"
            case writtenThroughMillis = "written_through_ms"
            case cutAtMillis = "cut_at_ms"
        }

        init(_ loss: LeaderLoss) {
            keyspace = loss.keyspace
            partition = loss.partition
            epoch = loss.cut.epoch.value
            first = loss.cut.first.description
            last = loss.cut.last.description
            entries = loss.cut.count
            writes = loss.cut.writes.map { Write(version: $0.position.description, key: Base64URL.encode($0.key)) }
            writtenFromMillis = loss.writtenFromMillis
            writtenThroughMillis = loss.writtenThroughMillis
            cutAtMillis = loss.cutAtMillis
        }
    }

    /// A leader-mode partition replica as this node sees it; the leader alone knows the
    /// ISR and each follower's lag (entries behind its log end).
    struct LeaderPartition: Encodable {
        var keyspace: String
        var partition: Int
        var role: String
        var leader: String?
        var epoch: UInt64
        var inSync: [String]?
        var highWatermark: UInt64
        var last: UInt64
        var lag: [String: UInt64]?
        var logStart: UInt64
        var applied: UInt64
        var logBytes: Int
        var installingSnapshot: Bool

        enum CodingKeys: String, CodingKey {
            case keyspace, partition, role, leader, epoch, last, lag, applied
            case inSync = "in_sync"
            case highWatermark = "high_watermark"
            case logStart = "log_start"
            case logBytes = "log_bytes"
            case installingSnapshot = "installing_snapshot"
        }
    }

    private func leaderPartitions() async -> [LeaderPartition] {
        var partitions: [LeaderPartition] = []
        for replica in node.leaderReplicas.all {
            let status = replica.status
            let leads = status.leader == node.id
            partitions.append(
                LeaderPartition(
                    keyspace: replica.keyspace.name, partition: replica.partition, role: leads ? "leader" : "follower",
                    leader: status.leader?.name, epoch: status.epoch.value,
                    inSync: leads ? status.inSync.map(\.name) : nil, highWatermark: status.highWatermark,
                    last: status.last,
                    lag: leads ? Dictionary(uniqueKeysWithValues: status.lag.map { ($0.key.name, $0.value) }) : nil,
                    logStart: status.logStart, applied: status.applied, logBytes: status.logBytes,
                    installingSnapshot: status.installing))
        }
        return partitions.sorted { ($0.keyspace, $0.partition) < ($1.keyspace, $1.partition) }
    }

    private func clusterView(leaders: [LeaderPartition]) -> ClusterView {
        let ring = node.ring
        let primaries = ring.primaryCounts()
        let alive = membership?.registeredNodes ?? [node.id]
        let phis = health?.phis() ?? [:]
        let hints = node.hintBacklog
        let replicas = ring.isAssigned ? nil : node.keyspaces().map(\.replicationFactor).max() ?? 3
        let owners = (0..<ring.partitionCount).map { partition in
            let id = PartitionID(partition)
            return replicas.map { ring.owners(id, replicationFactor: $0) } ?? ring.explicitOwners(id)
        }
        let listed = ring.nodes + alive.subtracting(ring.nodes).sorted()
        return ClusterView(
            node: node.id.name, cluster: membership?.metadata.cluster, partitions: ring.partitionCount,
            ringVersion: ring.version,
            ring: owners.enumerated().map { .init(partition: $0.offset, owners: $0.element.map(\.name)) },
            transfers: ring.moves.map { move in
                .init(
                    partition: move.partition, phase: move.phase.rawValue,
                    from: move.previous.filter { !move.target.contains($0) }.map(\.name),
                    to: move.required.map(\.name), done: move.done.map(\.name),
                    since: move.since)
            },
            held: node.heldKeyCounts.sorted { $0.key < $1.key }.map {
                .init(keyspace: $0.key.keyspace, partition: $0.key.partition, keys: $0.value)
            },
            storedBytesPerKey: storedBytesPerKey(),
            nodes: listed.map { id in
                let phi = phis[id].map { $0.isFinite ? min($0, 300) : 300 }
                return .init(
                    id: id.name, alive: alive.contains(id), primaries: primaries[id] ?? 0, phi: phi,
                    suspected: phi.map { $0 > FailureDetector.defaultThreshold }, hints: hints[id] ?? 0,
                    state: ring.state(of: id).rawValue)
            },
            keyspaces: node.keyspaces().map(\.name.name), antiEntropy: convergence(), leaderPartitions: leaders,
            leaderLosses: node.leaderLosses.recent.map(LeaderLossView.init))
    }

    private func convergence() -> [ClusterView.Convergence] {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let (converged, never) = node.antiEntropyStatus
        let replicas = (Array(converged.keys) + never).sorted()
        return replicas.map { replica in
            .init(
                keyspace: replica.keyspace, partition: replica.partition,
                convergedMillisAgo: converged[replica].map { now > $0 ? now - $0 : 0 })
        }
    }

    // MARK: Keyspaces

    private func listKeyspaces(_ request: HTTPRequest) throws(RingstoreError) -> HTTPResponse {
        let name = request.path.dropFirst("/v1/keyspaces".count).drop { $0 == "/" }
        if !name.isEmpty {
            return Router.json(try node.keyspace(named: String(name)))
        }
        return Router.json(KeyspaceList(keyspaces: node.keyspaces()))
    }

    private func createKeyspace(from request: HTTPRequest) async throws(RingstoreError) -> HTTPResponse {
        guard request.body.readableBytes <= node.limits.keyspaceDefinitionBytesMax else {
            throw RingstoreError(
                .invalidKeyspaceDefinition,
                "the definition is \(request.body.readableBytes) bytes; the limit is \(node.limits.keyspaceDefinitionBytesMax)"
            )
        }
        let rawName = String(request.path.dropFirst("/v1/keyspaces/".count))
        guard request.path.hasPrefix("/v1/keyspaces/"), !rawName.isEmpty else {
            throw RingstoreError(.invalidKeyspaceName, "the path must be /v1/keyspaces/{name}")
        }
        let name = try KeyspaceName(validating: rawName, limits: node.limits)
        var definition = KeyspaceRequest()
        if request.body.readableBytes > 0 {
            let data = Data(request.body.readableBytesView)
            let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let unknown = Set(fields?.keys.map { $0 } ?? []).subtracting(KeyspaceRequest.fieldNames)
            guard unknown.isEmpty else {
                throw RingstoreError(
                    .invalidKeyspaceDefinition, "unknown fields: \(unknown.sorted().joined(separator: ", "))")
            }
            do {
                definition = try JSONDecoder().decode(KeyspaceRequest.self, from: data)
            } catch {
                throw RingstoreError(
                    .invalidKeyspaceDefinition, "the body is not a valid keyspace definition: \(Router.describe(error))"
                )
            }
        }
        let keyspace = definition.keyspace(named: name, nodeCount: node.nodeCount)
        let created = try await createKeyspace(keyspace)
        var response = Router.json(keyspace)
        response.status = created ? .created : .ok
        return response
    }

    private struct KeyspaceList: Encodable {
        var keyspaces: [Keyspace]
    }

    // MARK: Responses

    static func json(_ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: data))
    }

    static func text(_ text: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        return HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: text))
    }

    static func methodNotAllowed(_ method: HTTPMethod, allowed: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Allow", value: allowed)
        return Problem(
            status: .methodNotAllowed, code: "method-not-allowed",
            detail: "\(method) is not supported here; use \(allowed)"
        )
        .response(extraHeaders: headers)
    }

    /// A short readable reason for a JSON decoding failure.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.typeMismatch(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.valueNotFound(_, let context): context.debugDescription
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        default: "\(error)"
        }
    }
}

/// Whether the node should receive traffic (`/readyz`): false while starting and draining.
final class Readiness: Sendable {
    private let state = Mutex(false)
    var isReady: Bool { state.withLock { $0 } }
    func set(_ ready: Bool) { state.withLock { $0 = ready } }
}
