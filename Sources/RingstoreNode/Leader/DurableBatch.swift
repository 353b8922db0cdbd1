import RingstoreCore
import Synchronization

/// Waits for a batch of storage writes: `completion` runs once, after the last of
/// `count` writes reported, with the first error any reported.
final class DurableBatch: Sendable {
    private let state: Mutex<(remaining: Int, error: RingstoreError?)>
    private let completion: @Sendable (RingstoreError?) -> Void

    init(count: Int, completion: @escaping @Sendable (RingstoreError?) -> Void) {
        state = Mutex((count, nil))
        self.completion = completion
        if count == 0 { completion(nil) }
    }

    /// One write of the batch reported.
    func done(_ error: RingstoreError?) {
        let finished = state.withLock { state -> (Bool, RingstoreError?) in
            state.remaining -= 1
            if state.error == nil { state.error = error }
            return (state.remaining == 0, state.error)
        }
        if finished.0 { completion(finished.1) }
    }
}
