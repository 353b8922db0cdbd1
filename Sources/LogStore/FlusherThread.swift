import Glibc

/// A dedicated OS thread for the blocking write + fsync loop, so it never occupies a
/// thread of Swift's cooperative pool.
final class FlusherThread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self)
        let rc = pthread_create(
            &handle, nil,
            { raw in
                let thread = Unmanaged<FlusherThread>.fromOpaque(raw!).takeRetainedValue()
                thread.body()
                return nil
            },
            box.toOpaque()
        )
        precondition(rc == 0, "pthread_create failed with \(rc)")
    }

    func join() { pthread_join(handle, nil) }
}
