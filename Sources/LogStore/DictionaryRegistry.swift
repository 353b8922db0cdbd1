import Synchronization

/// The store's compression dictionaries: the current one writers compress with, every
/// one records may refer to, and the samples that make the first. Its own lock keeps
/// writers off the store's main lock while they compress.
final class DictionaryRegistry: Sendable {
    private struct State {
        var all: [UInt32: CompressionDictionary]
        var current: CompressionDictionary?
        /// Writers already use it; the flusher has yet to make it durable.
        var unpersisted: CompressionDictionary?
        var samples: [UInt8] = []
        var nextID: UInt32
    }

    /// Bytes of sample values that make a dictionary.
    static let sampleBytes = CompressionDictionary.bytesMax
    /// At most this much of one value goes into the samples, so one large value cannot
    /// make the whole dictionary.
    static let sampleBytesPerValueMax = 2048

    private let state: Mutex<State>

    init(loaded: [UInt32: CompressionDictionary]) {
        state = Mutex(
            State(all: loaded, current: loaded.max { $0.key < $1.key }?.value, nextID: (loaded.keys.max() ?? 0) + 1)
        )
    }

    /// The dictionary to compress `sample` with; collects samples until there is one.
    func dictionary(for sample: [UInt8]) -> CompressionDictionary? {
        state.withLock { s in
            if let current = s.current { return current }
            guard sample.count >= ValueCompressor.compressBytesMin else { return nil }
            s.samples.append(contentsOf: sample.prefix(Self.sampleBytesPerValueMax))
            guard s.samples.count >= Self.sampleBytes else { return nil }
            let dictionary = CompressionDictionary(id: s.nextID, bytes: Array(s.samples.suffix(Self.sampleBytes)))
            s.nextID += 1
            s.samples = []
            s.all[dictionary.id] = dictionary
            s.current = dictionary
            s.unpersisted = dictionary
            return dictionary
        }
    }

    func dictionary(id: UInt32) -> CompressionDictionary? {
        state.withLock { $0.all[id] }
    }

    /// Hands the flusher a dictionary it must persist before writing the batch it took.
    func takeUnpersisted() -> CompressionDictionary? {
        state.withLock { s in
            defer { s.unpersisted = nil }
            return s.unpersisted
        }
    }
}
