import Logging
import Prometheus
import RingstoreClient
import RingstoreServer
import ServiceLifecycle

/// A node served in-process on 127.0.0.1 with port 0, in its own temporary directory.
struct RunningNode {
    let server: NodeServer
    let client: RingstoreClient
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let directory: String

    static func start(_ customize: (inout ServerConfiguration) -> Void = { _ in }) async throws -> RunningNode {
        var config = ServerConfiguration()
        config.dataDirectory = "/tmp/ringstore-http-test-\(UInt64.random(in: 0...UInt64.max))"
        config.httpPort = 0
        config.limits.keyBytesMax = 64
        config.limits.valueBytesMax = 4096
        config.limits.keyspaceDefinitionBytesMax = 1024
        customize(&config)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = try await NodeServer.open(config, registry: PrometheusCollectorRegistry(), logger: logger)
        let group = ServiceGroup(services: server.services, logger: logger)
        let task = Task { try await group.run() }
        let port = try await server.http.boundPort()
        let client = try RingstoreClient(endpoint: "http://127.0.0.1:\(port)", timeout: .seconds(10))
        return RunningNode(server: server, client: client, group: group, task: task, directory: config.dataDirectory)
    }

    /// Stops the way SIGTERM does: graceful shutdown, then the store closes.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await server.close()
    }
}
