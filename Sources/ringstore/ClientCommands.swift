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
        if let leader = response.header(HeaderNames.leader), let version = response.header(HeaderNames.version) {
            FileOutput.standardError("version: \(version) (leader \(leader))\n")
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
    @OptionGroup var leader: LeaderWriteOptions

    func run() async throws {
        let bytes = value == "-" ? FileOutput.readStandardInput() : Array(value.utf8)
        let c = try client(options)
        var headers = leader.headers
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let context { headers.append((HeaderNames.context, context)) }
        let parameters =
            (w.map { [("w", $0)] } ?? []) + (sloppy.map { [("sloppy", "\($0)")] } ?? []) + leader.parameters
        let response = try await call {
            try await c.send(
                method: .PUT, path: RingstoreClient.kvPath(keyspace, key, parameters), headers: headers, body: bytes)
        }
        try finish(response, printBody: false)
    }
}

/// Leader-mode options of a write.
struct LeaderWriteOptions: ParsableArguments {
    @Option(help: "Leader mode: acknowledge once the leader (leader) or every in-sync replica (all) has it.")
    var ack: String?
    @Option(help: "Leader mode: write only if the key's version is this one (EPOCH.SEQUENCE).") var ifMatch: String?
    @Flag(help: "Leader mode: write only if the key has no value.") var ifNoneMatch = false

    var parameters: [(String, String)] { ack.map { [("ack", $0)] } ?? [] }

    var headers: [(String, String)] {
        (ifMatch.map { [("If-Match", $0)] } ?? []) + (ifNoneMatch ? [("If-None-Match", "*")] : [])
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a value to standard output.")
    @OptionGroup var options: EndpointOptions
    @Argument var keyspace: String
    @Argument var key: String
    @Option(help: "Read consistency: one, two, quorum, all or a number.") var r: String?
    @Option(help: "Leader mode: linearizable, leader or follower.") var read: String?
    @Option(help: "Leader mode: wait until the write with this version (EPOCH.SEQUENCE) is applied.") var after: String?

    func run() async throws {
        let c = try client(options)
        let parameters = [("r", r), ("read", read), ("after", after)].compactMap { name, value in
            value.map { (name, $0) }
        }
        let response = try await call {
            try await c.get(keyspace: keyspace, key: key, parameters: parameters)
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
    @OptionGroup var leader: LeaderWriteOptions

    func run() async throws {
        let c = try client(options)
        let headers = leader.headers + (context.map { [(HeaderNames.context, $0)] } ?? [])
        let response = try await call {
            try await c.send(
                method: .DELETE, path: RingstoreClient.kvPath(keyspace, key, leader.parameters), headers: headers)
        }
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
        @Option(help: "leaderless, or leader (one leader per partition; needs a cluster).") var mode: String =
            "leaderless"
        @Option(help: "Replicas per key (default: 3, or the node count when smaller).") var replicationFactor: Int?
        @Option(help: "Conflict policy: vv or lww.") var conflict: String = "lww"
        @Option(help: "Default read level: one, two, quorum, all or a number.") var read: String?
        @Option(help: "Default write level: one, two, quorum, all or a number.") var write: String?
        @Flag(help: "Writes let fallbacks stand in for unreachable owners unless they say sloppy=false.")
        var sloppy = false
        @Option(help: "Leader mode: in-sync replicas an ack=all write needs (default 2, or 1 when N is 1).")
        var minInSync: Int?
        @Option(help: "Leader mode: writes' default ack, leader or all (default all).") var ack: String?

        func run() async throws {
            let c = try client(options)
            var definition: [String: Any] = ["mode": mode, "conflict": conflict]
            if let minInSync { definition["min_in_sync"] = minInSync }
            if let ack { definition["ack"] = ack }
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
