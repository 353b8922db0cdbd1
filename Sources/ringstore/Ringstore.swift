import ArgumentParser

/// `ringstore`: run a node, or talk to one.
@main
struct Ringstore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ringstore: a replicated key-value database.",
        subcommands: [Serve.self, Put.self, Get.self, Delete.self, KeyspaceCommand.self, ClusterCommand.self]
    )
}

/// Options every client command shares.
struct EndpointOptions: ParsableArguments {
    @Option(help: "The node to talk to.")
    var endpoint: String = "http://127.0.0.1:8080"

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Int = 10
}
