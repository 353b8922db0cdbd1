import Foundation
import NIOCore
import NIOHTTP1
import Replication
import RingstoreCore
import RingstoreNode
import Wire

/// `/v1/kv` for leader-mode keyspaces (DESIGN section 6): `ack=` on writes, `read=` and
/// `after=` on reads, `If-Match` / `If-None-Match: *` as atomic conditions, and the
/// write's token (epoch.sequence) as the value's version and ETag.
extension Router {
    struct LeaderOptions {
        var ack: LeaderAck?
        var level: LeaderReadLevel = .linearizable
        var after: LogPosition?
        var timeoutMillis: UInt32
    }

    func leaderOptions(_ request: HTTPRequest, isWrite: Bool) throws(RingstoreError) -> LeaderOptions {
        var options = LeaderOptions(timeoutMillis: node.defaultTimeoutMillis)
        for (name, value) in request.query {
            switch name {
            case "ack" where isWrite:
                options.ack = try LeaderAck(parsing: value)
            case "read" where !isWrite:
                options.level = try LeaderReadLevel(parsing: value)
            case "after" where !isWrite:
                options.after = try LogPosition(parsing: value)
            case "timeout":
                options.timeoutMillis = try Router.timeoutMillis(value)
            default:
                throw RingstoreError(
                    .invalidParameter,
                    "unknown parameter '\(name)' for a leader-mode keyspace; this request accepts "
                        + (isWrite ? "ack, timeout" : "read, after, timeout"))
            }
        }
        return options
    }

    /// If-Match (a version a read or write returned, quoted as an ETag or not) or
    /// If-None-Match: * (create only).
    func leaderCondition(_ request: HTTPRequest) throws(RingstoreError) -> LeaderWriteCondition? {
        let match = request.headers.first(name: "If-Match")
        let noneMatch = request.headers.first(name: "If-None-Match")
        switch (match, noneMatch) {
        case (nil, nil):
            return nil
        case (let match?, nil):
            let token = match.trimmingCharacters(in: .whitespaces).trimmingCharacters(
                in: CharacterSet(charactersIn: "\""))
            return .matches(try LogPosition(parsing: token))
        case (nil, let noneMatch?):
            guard noneMatch.trimmingCharacters(in: .whitespaces) == "*" else {
                throw RingstoreError(.invalidParameter, "If-None-Match accepts only '*' (create if absent)")
            }
            return .absent
        case (_?, _?):
            throw RingstoreError(.invalidParameter, "send If-Match or If-None-Match, not both")
        }
    }

    func leaderGet(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let read: LeaderReadRequest
        do throws(RingstoreError) {
            let address = try address(request.path)
            let options = try leaderOptions(request, isWrite: false)
            read = LeaderReadRequest(
                keyspace: address.keyspace, key: address.key, level: options.level, after: options.after,
                timeoutMillis: options.timeoutMillis)
        } catch {
            completion(Problem(error).response())
            return
        }
        node.leaderRead(read) { result in
            switch result {
            case .success(let found):
                var headers = HTTPHeaders()
                headers.add(name: HeaderNames.replicaNames, value: found.replica.name)
                guard let value = found.value, let position = found.position else {
                    completion(
                        Problem(
                            status: .notFound, code: RingstoreError.Code.notFound.name, detail: "the key does not exist"
                        )
                        .response(extraHeaders: headers))
                    return
                }
                headers.add(name: HeaderNames.version, value: position.description)
                headers.add(name: "ETag", value: "\"\(position)\"")
                headers.add(name: "Content-Type", value: "application/octet-stream")
                if request.method == .HEAD {
                    headers.add(name: "Content-Length", value: String(value.count))
                    completion(HTTPResponse(status: .ok, headers: headers, body: nil))
                } else {
                    completion(HTTPResponse(status: .ok, headers: headers, body: ByteBuffer(bytes: value)))
                }
            case .failure(let error):
                completion(Problem(error).response())
            }
        }
    }

    func leaderWrite(_ request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let write: LeaderWriteRequest
        do throws(RingstoreError) {
            let address = try address(request.path)
            let options = try leaderOptions(request, isWrite: true)
            write = LeaderWriteRequest(
                keyspace: address.keyspace, key: address.key,
                value: request.method == .PUT ? Array(request.body.readableBytesView) : nil, ack: options.ack,
                condition: try leaderCondition(request), timeoutMillis: options.timeoutMillis)
        } catch {
            completion(Problem(error).response())
            return
        }
        node.leaderWrite(write) { result in
            switch result {
            case .success(let written):
                var headers = HTTPHeaders()
                headers.add(name: HeaderNames.version, value: written.position.description)
                headers.add(name: "ETag", value: "\"\(written.position)\"")
                headers.add(name: HeaderNames.leader, value: written.leader.name)
                completion(HTTPResponse(status: .noContent, headers: headers))
            case .failure(let error):
                completion(Problem(error).response())
            }
        }
    }
}
