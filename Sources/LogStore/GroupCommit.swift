import Logging
import RingstoreCore

/// State that only the flusher thread touches: the open active segment and the hint
/// entries it will need when the segment closes.
struct FlusherState {
    var activeFile: any DiskFile
    var activeID: UInt32
    var activeSize: UInt64
    var activeHints: [HintEntry] = []
    /// The file is zero-filled up to here (past `activeSize`).
    var preallocatedEnd: UInt64 = 0
    var unsyncedBytes = 0
    var lastSyncNanos: UInt64 = 0
}

extension LogStore {
    /// The group commit loop: take everything pending, append it with one write, sync
    /// per policy, publish to the keydir, resume the writers. Runs until `close()`.
    func runFlusher() {
        while true {
            var batch: [PendingWrite] = []
            var firstSequence: UInt64 = 0
            var dictionary: CompressionDictionary?
            var syncDue = false
            let stop: Bool = lock.withLock {
                while state.pending.isEmpty && !state.closing && !intervalSyncDue() {
                    state.flusherWaiting = true
                    lock.wait(untilMonotonicNanos: intervalDeadline())
                    state.flusherWaiting = false
                }
                if state.pending.isEmpty {
                    syncDue = flusher.unsyncedBytes > 0
                    return state.closing
                }
                var bytes = 0
                var taken = 0
                for write in state.pending {
                    if taken > 0 && bytes + write.bytes.count > configuration.batchBytesMax { break }
                    bytes += write.bytes.count
                    taken += 1
                }
                batch = Array(state.pending.prefix(taken))
                state.pending.removeFirst(taken)
                firstSequence = state.nextSequence
                state.nextSequence += UInt64(taken)
                return false
            }
            // Taken after the batch: every dictionary its records use was created before them.
            if !batch.isEmpty { dictionary = dictionaries.takeUnpersisted() }
            if syncDue { syncActive() }
            if stop { break }
            if !batch.isEmpty { commit(batch, firstSequence: firstSequence, dictionary: dictionary) }
        }
        // A clean stop leaves no preallocated tail behind.
        do throws(LogStoreError) {
            try flusher.activeFile.truncate(to: flusher.activeSize)
            try timedSync(flusher.activeFile)
        } catch {
            fail(error)
        }
    }

    /// Zero-fills ahead of the append so the fdatasync after it has no block allocation
    /// (and so no journal commit) to wait for.
    private func preallocate(for bytes: Int) throws(LogStoreError) {
        let chunk = UInt64(configuration.preallocateBytes)
        let needed = flusher.activeSize + UInt64(bytes)
        guard chunk > 0, needed > flusher.preallocatedEnd else { return }
        let end = needed + chunk
        try flusher.activeFile.write(
            [UInt8](repeating: 0, count: Int(end - max(flusher.preallocatedEnd, flusher.activeSize))),
            at: max(flusher.preallocatedEnd, flusher.activeSize))
        flusher.preallocatedEnd = end
    }

    private func intervalSyncDue() -> Bool {
        guard case .interval(let interval) = configuration.syncPolicy, flusher.unsyncedBytes > 0 else { return false }
        return monotonicNanos() >= flusher.lastSyncNanos + interval.nanoseconds
    }

    private func intervalDeadline() -> UInt64? {
        guard case .interval(let interval) = configuration.syncPolicy, flusher.unsyncedBytes > 0 else { return nil }
        return flusher.lastSyncNanos + interval.nanoseconds
    }

    private func syncActive() {
        do throws(LogStoreError) {
            try timedSync(flusher.activeFile)
            flusher.unsyncedBytes = 0
            flusher.lastSyncNanos = monotonicNanos()
        } catch {
            fail(error)
        }
    }

    private func timedSync(_ file: any DiskFile) throws(LogStoreError) {
        let start = monotonicNanos()
        try file.sync()
        configuration.syncObserver?(monotonicNanos() - start)
        lock.withLock { state.fsyncs += 1 }
    }

    private func commit(_ batch: [PendingWrite], firstSequence: UInt64, dictionary: CompressionDictionary?) {
        do throws(LogStoreError) {
            if let dictionary { try persist(dictionary) }
            let batchBytes = batch.reduce(0) { $0 + $1.bytes.count }
            if flusher.activeSize > UInt64(SegmentHeader.bytes)
                && flusher.activeSize + UInt64(batchBytes) > configuration.segmentBytesMax
            {
                try rollSegment(nextSequence: firstSequence)
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(batchBytes)
            var entries: [KeydirEntry] = []
            entries.reserveCapacity(batch.count)
            for (index, write) in batch.enumerated() {
                let start = buffer.count
                let sequence = firstSequence + UInt64(index)
                buffer.append(contentsOf: write.bytes)
                RecordCodec.seal(&buffer, at: start, sequence: sequence)
                let entry = KeydirEntry(
                    segment: flusher.activeID, offset: UInt32(flusher.activeSize) + UInt32(start),
                    length: UInt32(write.bytes.count), isTombstone: write.isTombstone, sequence: sequence
                )
                entries.append(entry)
                flusher.activeHints.append(
                    HintEntry(
                        sequence: sequence, offset: entry.offset, length: entry.length,
                        isTombstone: write.isTombstone, key: write.key)
                )
            }
            try preallocate(for: buffer.count)
            try flusher.activeFile.write(buffer, at: flusher.activeSize)
            flusher.activeSize += UInt64(buffer.count)
            flusher.unsyncedBytes += buffer.count
            if configuration.syncPolicy == .always {
                try timedSync(flusher.activeFile)
                flusher.unsyncedBytes = 0
            } else if intervalSyncDue() {
                try timedSync(flusher.activeFile)
                flusher.unsyncedBytes = 0
                flusher.lastSyncNanos = monotonicNanos()
            }
            lock.withLock {
                for (write, entry) in zip(batch, entries) {
                    state.keydir.apply(write.key, entry)
                    state.rawValueBytesWritten += UInt64(write.rawBytes)
                    state.storedValueBytesWritten += UInt64(
                        write.bytes.count - RecordCodec.headerBytes - write.key.count)
                }
                state.keydir.segments[flusher.activeID]?.totalBytes = flusher.activeSize
                state.activeSize = flusher.activeSize
                state.groupCommits += 1
                state.recordsWritten += batch.count
            }
            for (write, entry) in zip(batch, entries) { write.completion(.success(entry.sequence)) }
        } catch {
            fail(error)
            for write in batch { write.completion(.failure(error)) }
        }
    }

    /// After a failed write or fsync nothing more is accepted: what reached the disk is
    /// unknown, and a retried fsync may report success for lost pages.
    private func fail(_ error: LogStoreError) {
        logger.error("store write failed; refusing further writes", metadata: ["error": "\(error)"])
        let waiting: [PendingWrite] = lock.withLock {
            if state.failure == nil { state.failure = error }
            defer { state.pending = [] }
            return state.pending
        }
        for write in waiting { write.completion(.failure(error)) }
    }

    private func persist(_ dictionary: CompressionDictionary) throws(LogStoreError) {
        try files.writeDurably(DictionaryFile.encode(dictionary), named: StoreFiles.dictionary(dictionary.id))
        logger.info("compression dictionary created", metadata: ["dictionary": "\(dictionary.id)"])
    }

    /// Closes the active segment (sync, hint file) and starts the next one.
    private func rollSegment(nextSequence: UInt64) throws(LogStoreError) {
        try flusher.activeFile.truncate(to: flusher.activeSize)
        try timedSync(flusher.activeFile)
        flusher.unsyncedBytes = 0
        try files.writeDurably(
            HintFile.encode(segmentID: flusher.activeID, entries: flusher.activeHints),
            named: StoreFiles.hint(flusher.activeID)
        )
        let id = lock.withLock {
            defer { state.nextSegmentID += 1 }
            return state.nextSegmentID
        }
        let file = try files.createSegment(id: id, baseSequence: nextSequence)
        flusher = FlusherState(
            activeFile: file, activeID: id, activeSize: UInt64(SegmentHeader.bytes),
            lastSyncNanos: flusher.lastSyncNanos)
        lock.withLock {
            state.keydir.segments[id] = SegmentInfo(file: file, totalBytes: UInt64(SegmentHeader.bytes))
            state.activeID = id
            state.activeSize = UInt64(SegmentHeader.bytes)
        }
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
    }
}
