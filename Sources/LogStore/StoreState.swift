/// A write waiting for the flusher.
struct PendingWrite {
    var bytes: [UInt8]
    var key: [UInt8]
    var isTombstone: Bool
    var rawBytes: Int
    var completion: LogStore.Completion
}

/// The store's shared state, guarded by its lock.
struct StoreState {
    var keydir = Keydir()
    var activeID: UInt32
    var activeSize: UInt64
    var nextSegmentID: UInt32
    var nextSequence: UInt64
    var pending: [PendingWrite] = []
    /// Set after a failed write or fsync: the store then refuses writes (an fsync that
    /// failed once cannot be retried safely).
    var failure: LogStoreError?
    var closing = false
    /// The flusher sleeps on the condition; writers signal only then (a wakeup is a syscall).
    var flusherWaiting = false
    var compacting = false
    var compactions = 0
    var bytesReclaimed: UInt64 = 0
    var fsyncs = 0
    var groupCommits = 0
    var recordsWritten = 0
    var rawValueBytesWritten: UInt64 = 0
    var storedValueBytesWritten: UInt64 = 0

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
