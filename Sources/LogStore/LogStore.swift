import Logging
import RingstoreCore

/// A value as read back from the store: its metadata, and the value unless it is a tombstone.
public struct StoredEntry: Sendable, Equatable {
    public var sequence: UInt64
    public var metadata: [UInt8]
    /// nil for a tombstone.
    public var value: [UInt8]?
}

/// Counters and sizes of a store, for metrics and the benchmark.
public struct LogStoreStatistics: Sendable {
    public var liveKeys: Int
    public var tombstones: Int
    public var segments: Int
    public var totalBytes: UInt64
    public var deadBytes: UInt64
    public var compactions: Int
    public var bytesReclaimed: UInt64
    public var fsyncs: Int
    public var groupCommits: Int
    public var recordsWritten: Int
    public var rawValueBytesWritten: UInt64
    public var storedValueBytesWritten: UInt64
}

/// Bitcask-shaped storage: an append-only log of segment files, an in-memory keydir
/// pointing at each key's latest record, hint files for closed segments, group commit,
/// crash recovery and compaction. All disk access goes through `Disk`.
///
/// Writers hand encoded (and compressed) records to one flusher thread that appends
/// everything pending with one write and, under `SyncPolicy.always`, one fdatasync, then
/// updates the keydir and resumes the writers. Reads look up the keydir and `pread`.
/// Call `close()` before dropping a store: it stops the flusher thread.
public final class LogStore: @unchecked Sendable {
    public let configuration: LogStoreConfiguration
    let disk: any Disk
    let files: StoreDirectory
    let logger: Logger
    let lock = StoreLock()
    let dictionaries: DictionaryRegistry
    /// Everything below is guarded by `lock`.
    var state: StoreState
    /// Touched only by the flusher thread (and by `init` before it starts).
    var flusher: FlusherState
    private var thread: FlusherThread?

    /// Opens (creating or recovering) the store in `configuration.directory`.
    public init(configuration: LogStoreConfiguration, disk: any Disk = PosixDisk(), logger: Logger)
        throws(LogStoreError)
    {
        self.configuration = configuration
        self.disk = disk
        self.files = StoreDirectory(disk: disk, path: configuration.directory)
        self.logger = logger
        let recovered = try Recovery(configuration: configuration, disk: disk, logger: logger).run()
        state = recovered.state
        flusher = recovered.flusher
        dictionaries = DictionaryRegistry(loaded: recovered.dictionaries)
        thread = FlusherThread { [unowned self] in self.runFlusher() }
    }

    // MARK: Writes

    /// Called once with a write's sequence number when it is durable (per the sync
    /// policy), or with its error. Runs on the flusher thread: keep it short.
    public typealias Completion = @Sendable (Result<UInt64, LogStoreError>) -> Void

    /// Appends a value for `key`; returns its sequence number once durable per the sync policy.
    @discardableResult
    public func put(_ key: [UInt8], value: [UInt8], metadata: [UInt8] = []) async throws -> UInt64 {
        try await appended(key: key, value: value, metadata: metadata)
    }

    /// Appends a tombstone for `key`.
    @discardableResult
    public func delete(_ key: [UInt8], metadata: [UInt8] = []) async throws -> UInt64 {
        try await appended(key: key, value: nil, metadata: metadata)
    }

    private func appended(key: [UInt8], value: [UInt8]?, metadata: [UInt8]) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            append(key: key, value: value, metadata: metadata) { continuation.resume(with: $0) }
        }
    }

    /// Appends a value (or a tombstone when `value` is nil) and calls `completion` when it
    /// is durable. The callback form lets a server answer from the flusher's completion
    /// without a hop through a task.
    public func append(key: [UInt8], value: [UInt8]?, metadata: [UInt8], completion: @escaping Completion) {
        guard key.count <= RecordCodec.keyBytesMax, metadata.count <= RecordCodec.metadataBytesMax,
            (value?.count ?? 0) <= RecordCodec.valueBytesMax
        else {
            completion(.failure(LogStoreError(.tooLarge, "key, metadata or value exceeds the record format's limits")))
            return
        }
        let dictionary =
            configuration.compression && configuration.compressionDictionary
            ? value.flatMap { dictionaries.dictionary(for: $0) } : nil
        var flags: Record.Flags = value == nil ? .tombstone : []
        var stored = value ?? []
        var dictionaryID: UInt32 = 0
        if configuration.compression, let value,
            let compressed = ValueCompressor.compress(value, dictionary: dictionary)
        {
            stored = compressed
            flags.insert(.compressed)
            dictionaryID = dictionary?.id ?? 0
        }
        let record = Record(
            sequence: 0, flags: flags, key: key, metadata: metadata, storedValue: stored,
            rawValueLength: UInt32(value?.count ?? 0), dictionaryID: dictionaryID
        )
        let bytes = RecordCodec.encodeUnsealed(record)
        let rejected: LogStoreError? = lock.withLock {
            if let failure = state.failure { return failure }
            if state.closing { return LogStoreError(.closed, "the store is closed") }
            state.pending.append(
                PendingWrite(
                    bytes: bytes, key: key, isTombstone: value == nil, rawBytes: value?.count ?? 0,
                    completion: completion)
            )
            if state.flusherWaiting { lock.signal() }
            return nil
        }
        if let rejected { completion(.failure(rejected)) }
    }

    // MARK: Reads

    /// The latest record of `key` (a tombstone has a nil value), or nil if the key was never
    /// written or its tombstone was purged.
    public func get(_ key: [UInt8]) throws(LogStoreError) -> StoredEntry? {
        let found: (KeydirEntry, any DiskFile)? = lock.withLock {
            guard let entry = state.keydir[key], let segment = state.keydir.segments[entry.segment] else { return nil }
            return (entry, segment.file)
        }
        guard let (entry, file) = found else { return nil }
        let bytes = try file.read(at: UInt64(entry.offset), count: Int(entry.length))
        guard case .record(let record, _) = RecordCodec.decode(bytes) else {
            throw LogStoreError(
                .corruption, "record at segment \(entry.segment) offset \(entry.offset) fails its checks")
        }
        guard record.key == key, record.sequence == entry.sequence else {
            throw LogStoreError(
                .corruption, "record at segment \(entry.segment) offset \(entry.offset) is another key's")
        }
        return StoredEntry(sequence: record.sequence, metadata: record.metadata, value: try value(of: record))
    }

    func value(of record: Record) throws(LogStoreError) -> [UInt8]? {
        if record.isTombstone { return nil }
        guard record.flags.contains(.compressed) else { return record.storedValue }
        var dictionary: CompressionDictionary?
        if record.dictionaryID != 0 {
            dictionary = dictionaries.dictionary(id: record.dictionaryID)
            guard dictionary != nil else {
                throw LogStoreError(
                    .corruption, "record \(record.sequence) needs missing dictionary \(record.dictionaryID)")
            }
        }
        guard
            let value = ValueCompressor.decompress(
                record.storedValue, rawLength: Int(record.rawValueLength), dictionary: dictionary)
        else { throw LogStoreError(.corruption, "record \(record.sequence) does not decompress") }
        return value
    }

    /// Every key currently in the keydir (tombstones included), for scans and tests.
    public func keys() -> [[UInt8]] {
        lock.withLock {
            var keys: [[UInt8]] = []
            state.keydir.entries.forEachEntry { key, _ in keys.append(key) }
            return keys
        }
    }

    /// The keys that start with `prefix` and have a value (deleted keys are left out).
    /// Writes not yet durable are not in it.
    public func keys(withPrefix prefix: [UInt8]) -> [[UInt8]] {
        lock.withLock { state.keydir.entries.keys(withPrefix: prefix) { !$0.isTombstone } }
    }

    public func statistics() -> LogStoreStatistics {
        lock.withLock { state.statistics() }
    }

    // MARK: Closing

    /// Finishes every pending write, syncs, and stops the flusher thread.
    public func close() {
        let running: FlusherThread? = lock.withLock {
            state.closing = true
            lock.broadcast()
            defer { thread = nil }
            return thread
        }
        running?.join()
    }
}
