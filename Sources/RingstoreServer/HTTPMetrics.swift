import CoreMetrics
import NIOConcurrencyHelpers
import NIOHTTP1

/// Request counts and latency by route, method and status, created once per label set.
final class HTTPMetrics: Sendable {
    private struct Labels: Hashable {
        var route: String
        var method: String
        var status: UInt
    }

    private let factory: any MetricsFactory
    /// A pthread lock (NIO's), which ThreadSanitizer can see through, unlike
    /// Synchronization.Mutex's futex on Linux.
    private let cache = NIOLockedValueBox<[Labels: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    func record(route: Router.Route, method: HTTPMethod, status: HTTPResponseStatus, nanos: UInt64) {
        let labels = Labels(route: route.rawValue, method: method.rawValue, status: status.code)
        let (counter, timer) = cache.withLockedValue { cache in
            if let found = cache[labels] { return found }
            let dimensions = [("route", labels.route), ("method", labels.method), ("status", String(labels.status))]
            let made = (
                CoreMetrics.Counter(label: "ringstore_http_requests_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(
                    label: "ringstore_http_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
            cache[labels] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(Int64(nanos))
    }
}
