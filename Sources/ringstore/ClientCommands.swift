import ArgumentParser
import Foundation
import RingstoreClient
import Wire

/// Prints a response the way a person wants to read it, and fails on an error status.
func finish(_ response: ClientResponse, printBody: Bool) throws {
    if (200..<300).contains(response.status) || response.status == 300 {
        if response.status == 300 { FileOutput.standardError("siblings: the key has concurrent values (JSON below)\n") }
        if printBody {
            FileOutput.standardOutput(response.body)
        }
        if let context = response.header(HeaderNames.context) {
            FileOutput.standardError("context: \(context)\n")
        }
        return
    }
    var message = "error \(response.status)"
    if let detail = ProblemText.detail(of: response.body) { message += ": " + detail }
    FileOutput.standardError(message + "\n")
    throw ExitCode(response.status == 404 ? 2 : 1)
}

func client(_ options: EndpointOptions) throws -> RingstoreClient {
    do {
        return try RingstoreClient(endpoint: options.endpoint, timeout: .seconds(options.timeout))
    } catch {
        throw ValidationError("\(error)")
    }
}

/// Runs a request and turns a transport failure into a readable message.
func call(_ body: () async throws -> ClientResponse) async throws -> ClientResponse {
    do {
        return try await body()
    } catch let error as ClientError {
        FileOutput.standardError("ringstore: \(error.description)\n")
        throw ExitCode(3)
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a value (from the argument, or '-' for standard input).")
    @OptionGroup var options: EndpointOptions
    @Argument var keyspace: String
    @Argument var key: String
    @Argument(help: "The value, or '-' to read standard input.") var value: String
    @Option(help: "Content-Type stored with the value.") var contentType: String?
    @Option(help: "Causal context from an earlier read.") var context: String?
    @Option(help: "Write consistency: one, two, quorum, all or a number.") var w: String?
    @Option(help: "true: fallbacks may stand in for unreachable owners; false: owners only.") var sloppy: Bool?

    func run() async throws {
        let bytes = value == "-" ? FileOutput.readStandardInput() : Array(value.utf8)
        let c = try client(options)
        let response = try await call {
            try await c.put(
                keyspace: keyspace, key: key, value: bytes, contentType: contentType, context: context,
                parameters: (w.map { [("w", $0)] } ?? []) + (sloppy.map { [("sloppy", "\($0)")] } ?? []))
        }
        try finish(response, printBody: false)
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a value to standard output.")
    @OptionGroup var options: EndpointOptions
    @Argument var keyspace: String
    @Argument var key: String
    @Option(help: "Read consistency: one, two, quorum, all or a number.") var r: String?

    func run() async throws {
        let c = try client(options)
        let response = try await call {
            try await c.get(keyspace: keyspace, key: key, parameters: r.map { [("r", $0)] } ?? [])
        }
        try finish(response, printBody: true)
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a key.")
    @OptionGroup var options: EndpointOptions
    @Argument var keyspace: String
    @Argument var key: String
    @Option(help: "Causal context from an earlier read.") var context: String?

    func run() async throws {
        let c = try client(options)
        let response = try await call { try await c.delete(keyspace: keyspace, key: key, context: context) }
        try finish(response, printBody: false)
    }
}

struct KeyspaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyspace", abstract: "Create or list keyspaces.", subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a keyspace.")
        @OptionGroup var options: EndpointOptions
        @Argument var name: String
        @Option(help: "leaderless (leader is a later issue's).") var mode: String = "leaderless"
        @Option(help: "Replicas per key (default: 3, or the node count when smaller).") var replicationFactor: Int?
        @Option(help: "Conflict policy: vv or lww.") var conflict: String = "lww"
        @Option(help: "Default read level: one, two, quorum, all or a number.") var read: String?
        @Option(help: "Default write level: one, two, quorum, all or a number.") var write: String?
        @Flag(help: "Writes let fallbacks stand in for unreachable owners unless they say sloppy=false.")
        var sloppy = false

        func run() async throws {
            let c = try client(options)
            var definition: [String: Any] = ["mode": mode, "conflict": conflict]
            if let replicationFactor { definition["replication_factor"] = replicationFactor }
            if let read { definition["read"] = read }
            if let write { definition["write"] = write }
            if sloppy { definition["sloppy"] = true }
            let data = try JSONSerialization.data(withJSONObject: definition, options: [.sortedKeys])
            let json = String(decoding: data, as: UTF8.self)
            let response = try await call { try await c.createKeyspace(name, definitionJSON: json) }
            try finish(response, printBody: true)
            FileOutput.standardOutput(Array("\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keyspaces.")
        @OptionGroup var options: EndpointOptions

        func run() async throws {
            let c = try client(options)
            let response = try await call { try await c.listKeyspaces() }
            try finish(response, printBody: true)
            FileOutput.standardOutput(Array("\n".utf8))
        }
    }
}
