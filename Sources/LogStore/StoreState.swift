/// A write waiting for the flusher.
struct PendingWrite {
    var bytes: [UInt8]
    var key: [UInt8]
    var isTombstone: Bool
    var rawBytes: Int
    var continuation: CheckedContinuation<UInt64, any Error>
}

/// The store's shared state, guarded by its lock.
struct StoreState {
    var keydir = Keydir()
    var activeID: UInt32
    var activeSize: UInt64
    var nextSegmentID: UInt32
    var nextSequence: UInt64
    var pending: [PendingWrite] = []
    var dictionaries: [UInt32: CompressionDictionary] = [:]
    var currentDictionary: CompressionDictionary?
    /// A dictionary writers already use that the flusher has yet to make durable.
    var unpersistedDictionary: CompressionDictionary?
    var dictionarySamples: [UInt8] = []
    var nextDictionaryID: UInt32 = 1
    /// Set after a failed write or fsync: the store then refuses writes (an fsync that
    /// failed once cannot be retried safely).
    var failure: LogStoreError?
    var closing = false
    var compacting = false
    var compactions = 0
    var bytesReclaimed: UInt64 = 0
    var fsyncs = 0
    var groupCommits = 0
    var recordsWritten = 0
    var rawValueBytesWritten: UInt64 = 0
    var storedValueBytesWritten: UInt64 = 0

    /// Bytes of sample values that make a dictionary.
    static let dictionarySampleBytes = CompressionDictionary.bytesMax
    /// At most this much of one value goes into the samples, so one large value cannot
    /// make the whole dictionary.
    static let sampleBytesPerValueMax = 2048

    /// The dictionary to compress `sample` with; collects samples until there is one.
    mutating func dictionaryFor(sample: [UInt8]?) -> CompressionDictionary? {
        if let currentDictionary { return currentDictionary }
        guard let sample, sample.count >= ValueCompressor.compressBytesMin else { return nil }
        dictionarySamples.append(contentsOf: sample.prefix(Self.sampleBytesPerValueMax))
        guard dictionarySamples.count >= Self.dictionarySampleBytes else { return nil }
        let dictionary = CompressionDictionary(
            id: nextDictionaryID, bytes: Array(dictionarySamples.suffix(Self.dictionarySampleBytes))
        )
        nextDictionaryID += 1
        dictionarySamples = []
        dictionaries[dictionary.id] = dictionary
        currentDictionary = dictionary
        unpersistedDictionary = dictionary
        return dictionary
    }

    func statistics() -> LogStoreStatistics {
        var total: UInt64 = 0
        var dead: UInt64 = 0
        for (_, segment) in keydir.segments {
            total += segment.totalBytes
            dead += segment.deadBytes
        }
        return LogStoreStatistics(
            liveKeys: keydir.liveKeys, tombstones: keydir.tombstones, segments: keydir.segments.count,
            totalBytes: total, deadBytes: dead, compactions: compactions, bytesReclaimed: bytesReclaimed,
            fsyncs: fsyncs, groupCommits: groupCommits, recordsWritten: recordsWritten,
            rawValueBytesWritten: rawValueBytesWritten, storedValueBytesWritten: storedValueBytesWritten
        )
    }
}
