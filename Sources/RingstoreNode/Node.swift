import LogStore
import Logging
import RingstoreCore
import Synchronization

/// One Ringstore node: its keyspace catalog and its store, composed synchronously.
///
/// Today a node runs alone (replication factor 1); the cluster issues put partition
/// replicas and their state machines here. Every key of every keyspace lives in one
/// LogStore, so concurrent writes to any keyspace share a group commit (one fsync).
public final class Node: Sendable {
    public let id: NodeID
    public let limits: Limits
    let store: LogStore
    let logger: Logger
    private let wallMillis: @Sendable () -> UInt64
    private let clock: Mutex<HybridLogicalClock>
    /// Keyspaces by name.
    private let catalog: Mutex<[String: Keyspace]>
    /// Names whose creation is being made durable: a second creation waits for none of
    /// them and gets a conflict instead of racing the first.
    private let creating = Mutex<Set<String>>([])

    /// Opens the node on `store`; creates the `default` keyspace on first start.
    public init(
        id: NodeID,
        store: LogStore,
        limits: Limits = .default,
        logger: Logger,
        wallMillis: @escaping @Sendable () -> UInt64
    ) async throws {
        self.id = id
        self.store = store
        self.limits = limits
        self.logger = logger
        self.wallMillis = wallMillis
        clock = Mutex(HybridLogicalClock())
        var loaded: [String: Keyspace] = [:]
        for storageKey in store.keys(withPrefix: StorageKey.catalogPrefix) {
            guard let entry = try store.get(storageKey), let value = entry.value else { continue }
            let keyspace = try KeyspaceCodec.decode(value)
            loaded[keyspace.name.name] = keyspace
        }
        catalog = Mutex(loaded)
        if loaded[KeyspaceName.default.name] == nil {
            _ = try await createKeyspace(Keyspace(name: .default))
        }
    }

    public var nodeCount: Int { 1 }

    // MARK: Keyspaces

    public func keyspaces() -> [Keyspace] {
        catalog.withLock { Array($0.values) }.sorted { $0.name.name < $1.name.name }
    }

    public func keyspace(named name: String) throws(RingstoreError) -> Keyspace {
        // Fast path: a name in the catalog was validated when it was created.
        if let known = catalog.withLock({ $0[name] }) { return known }
        let validName = try KeyspaceName(validating: name, limits: limits)
        guard let keyspace = catalog.withLock({ $0[validName.name] }) else {
            throw RingstoreError(
                .unknownKeyspace, "keyspace '\(name)' does not exist; create it with PUT /v1/keyspaces/\(name)")
        }
        return keyspace
    }

    /// Creates a keyspace, or confirms an identical one. Returns whether it was created.
    public func createKeyspace(_ keyspace: Keyspace) async throws(RingstoreError) -> Bool {
        try keyspace.validate(nodeCount: nodeCount)
        let name = keyspace.name.name
        /// Whether an identical keyspace exists; a different one is a conflict.
        func exists() throws(RingstoreError) -> Bool {
            guard let existing = catalog.withLock({ $0[name] }) else { return false }
            guard existing == keyspace else {
                throw RingstoreError(.keyspaceExists, "keyspace '\(keyspace.name)' exists with another definition")
            }
            return true
        }
        if try exists() { return false }
        guard creating.withLock({ $0.insert(name).inserted }) else {
            throw RingstoreError(.keyspaceExists, "keyspace '\(keyspace.name)' is being created by another request")
        }
        defer { creating.withLock { _ = $0.remove(name) } }
        // Checked again now that this request holds the name: a creation may have just finished.
        if try exists() { return false }
        try await storing {
            try await store.put(StorageKey.catalog(keyspace.name), value: KeyspaceCodec.encode(keyspace))
        }
        catalog.withLock { $0[name] = keyspace }
        logger.info("keyspace created", metadata: ["keyspace": "\(keyspace.name)"])
        return true
    }

    // MARK: Data

    /// Called once with what a write achieved, or its error; may run on the store's
    /// flusher thread, so keep it short.
    public typealias WriteCompletion = @Sendable (Result<WriteResult, RingstoreError>) -> Void

    /// Writes `value` (nil: a tombstone) and calls `completion` once it is durable. Bad
    /// input is reported through `completion` before anything is stored.
    public func write(
        keyspace name: String, key: [UInt8], value: [UInt8]?, contentType: String?,
        context: CausalContext?, consistency: ConsistencyLevel? = nil, completion: @escaping WriteCompletion
    ) {
        let keyspace: Keyspace
        let validKey: Key
        let required: Int
        do throws(RingstoreError) {
            keyspace = try self.keyspace(named: name)
            validKey = try Key(validating: key, limits: limits)
            if let value, value.count > limits.valueBytesMax {
                throw RingstoreError(
                    .valueTooLarge, "value is \(value.count) bytes; the limit is \(limits.valueBytesMax) bytes")
            }
            if let contentType, contentType.utf8.count > limits.contentTypeBytesMax {
                throw RingstoreError(
                    .invalidParameter, "Content-Type is longer than \(limits.contentTypeBytesMax) bytes")
            }
            required = try requiredReplicas(consistency, keyspace)
        } catch {
            completion(.failure(error))
            return
        }
        let version = nextVersion()
        let metadata = ValueMetadata(version: version, contentType: value == nil ? nil : contentType).encoded()
        let logger = logger
        store.append(key: StorageKey.data(keyspace.name, validKey), value: value, metadata: metadata) { result in
            switch result {
            case .success:
                completion(.success(WriteResult(version: version, acknowledged: 1, required: required)))
            case .failure(let error):
                completion(.failure(Node.writeFailed(error, logger: logger)))
            }
        }
    }

    public func put(
        keyspace name: String, key: [UInt8], value: [UInt8], contentType: String?,
        context: CausalContext?, consistency: ConsistencyLevel? = nil
    ) async throws(RingstoreError) -> WriteResult {
        try await awaitWrite { completion in
            write(
                keyspace: name, key: key, value: value, contentType: contentType, context: context,
                consistency: consistency, completion: completion)
        }
    }

    public func delete(
        keyspace name: String, key: [UInt8], context: CausalContext?, consistency: ConsistencyLevel? = nil
    ) async throws(RingstoreError) -> WriteResult {
        try await awaitWrite { completion in
            write(
                keyspace: name, key: key, value: nil, contentType: nil, context: context, consistency: consistency,
                completion: completion)
        }
    }

    private func awaitWrite(_ start: (@escaping WriteCompletion) -> Void) async throws(RingstoreError) -> WriteResult {
        let result = await withCheckedContinuation { continuation in
            start { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// The value of `key`, or nil when it does not exist or was deleted.
    public func get(keyspace name: String, key: [UInt8], consistency: ConsistencyLevel? = nil) throws(RingstoreError)
        -> ReadResult?
    {
        let keyspace = try keyspace(named: name)
        let validKey = try Key(validating: key, limits: limits)
        _ = try requiredReplicas(consistency, keyspace)
        let entry: StoredEntry?
        do {
            entry = try store.get(StorageKey.data(keyspace.name, validKey))
        } catch {
            throw RingstoreError(.storage, "reading the key failed: \(error)")
        }
        guard let entry, let value = entry.value else { return nil }
        guard let metadata = ValueMetadata(decoding: entry.metadata) else {
            throw RingstoreError(.storage, "stored version metadata of the key is unreadable")
        }
        return ReadResult(value: value, contentType: metadata.contentType, version: metadata.version)
    }

    // MARK: Helpers

    /// A level this node can meet. With one replica, any level above 1 cannot be met:
    /// 503, never a silent downgrade.
    private func requiredReplicas(_ level: ConsistencyLevel?, _ keyspace: Keyspace) throws(RingstoreError) -> Int {
        let required = (level ?? .quorum).required(replicas: keyspace.replicationFactor)
        guard required <= keyspace.replicationFactor else {
            throw RingstoreError(
                .unavailable,
                "consistency needs \(required) replicas but keyspace '\(keyspace.name)' has \(keyspace.replicationFactor)"
            )
        }
        return required
    }

    private func nextVersion() -> StoredVersion {
        let now = wallMillis()
        let timestamp = clock.withLock { $0.tick(wallMillis: now) }
        return StoredVersion(timestamp: timestamp, node: id)
    }

    private func storing(_ body: () async throws -> Void) async throws(RingstoreError) {
        do {
            try await body()
        } catch {
            throw Node.writeFailed(error, logger: logger)
        }
    }

    /// A store write that failed, logged and turned into the error clients see.
    private static func writeFailed(_ error: any Error, logger: Logger) -> RingstoreError {
        logger.error("store write failed", metadata: ["error": "\(error)"])
        return RingstoreError(.storage, "the write could not be made durable: \(error)")
    }
}
