import Foundation
import RingstoreClient
import RingstoreCore

/// A client of etcd's v3 JSON gateway (DESIGN section 7): keys and values travel as
/// base64, 64-bit numbers as strings. Only what cluster metadata and leader elections
/// need: put, range, transactions, leases.
public struct EtcdClient: Sendable {
    let http: RingstoreClient

    /// `endpoint` is etcd's client URL, `http://HOST:PORT`.
    public init(endpoint: String, timeout: Duration = .seconds(3)) throws {
        http = try RingstoreClient(endpoint: endpoint, timeout: timeout)
    }

    /// One key of a range answer, decoded.
    public struct KeyValue: Sendable {
        public var key: String
        public var value: [UInt8]
        public var modRevision: Int64
        /// The revision at which the key was created (0: it does not exist).
        public var createRevision: Int64
    }

    /// One comparison of a transaction.
    public enum Compare: Sendable {
        /// The key's create revision equals this (0: the key does not exist).
        case createRevision(String, Int64)
        /// The key's last modification revision equals this.
        case modRevision(String, Int64)

        var json: [String: Any] {
            switch self {
            case .createRevision(let key, let revision):
                ["target": "CREATE", "key": EtcdClient.base64(key), "create_revision": String(revision)]
            case .modRevision(let key, let revision):
                ["target": "MOD", "key": EtcdClient.base64(key), "mod_revision": String(revision)]
            }
        }
    }

    /// Puts `puts` (key, value, lease) and deletes `deletes` if every comparison holds, in one transaction;
    /// whether it did, and the revision etcd answered at (the puts' revision when they
    /// were made).
    public func transaction(
        _ compares: [Compare], puts: [(String, [UInt8], Int64?)], deletes: [String] = []
    ) async throws -> (succeeded: Bool, revision: Int64) {
        var requests: [[String: Any]] = puts.map { key, value, lease in
            var put: [String: Any] = ["key": Self.base64(key), "value": Data(value).base64EncodedString()]
            if let lease { put["lease"] = String(lease) }
            return ["request_put": put]
        }
        for key in deletes { requests.append(["request_delete_range": ["key": Self.base64(key)]]) }
        let answer = try await call("/v3/kv/txn", ["compare": compares.map(\.json), "success": requests])
        let header = answer["header"] as? [String: Any]
        let revision = Int64(header?["revision"] as? String ?? "0") ?? 0
        return (answer["succeeded"] as? Bool ?? false, revision)
    }

    /// Stores `value` under `key`, bound to `lease` when given.
    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) async throws {
        var body: [String: Any] = ["key": Self.base64(key), "value": Data(value).base64EncodedString()]
        if let lease { body["lease"] = String(lease) }
        _ = try await call("/v3/kv/put", body)
    }

    /// Every key starting with `prefix`, or exactly `key` when `prefix` is false.
    public func range(_ key: String, prefix: Bool = false) async throws -> [KeyValue] {
        var body: [String: Any] = ["key": Self.base64(key)]
        if prefix { body["range_end"] = Data(Self.prefixEnd(Array(key.utf8))).base64EncodedString() }
        let answer = try await call("/v3/kv/range", body)
        let kvs = answer["kvs"] as? [[String: Any]] ?? []
        return kvs.compactMap { kv in
            guard let key = (kv["key"] as? String).flatMap({ Data(base64Encoded: $0) }) else { return nil }
            let value = (kv["value"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            return KeyValue(
                key: String(decoding: key, as: UTF8.self), value: Array(value),
                modRevision: Int64(kv["mod_revision"] as? String ?? "0") ?? 0,
                createRevision: Int64(kv["create_revision"] as? String ?? "0") ?? 0)
        }
    }

    /// Stores `value` under `key` only if the key does not exist; returns whether it did.
    public func create(_ key: String, _ value: [UInt8]) async throws -> Bool {
        let body: [String: Any] = [
            "compare": [["target": "CREATE", "key": Self.base64(key), "create_revision": "0"]],
            "success": [["request_put": ["key": Self.base64(key), "value": Data(value).base64EncodedString()]]],
        ]
        let answer = try await call("/v3/kv/txn", body)
        return answer["succeeded"] as? Bool ?? false
    }

    /// A lease that expires `ttlSeconds` after its last keep-alive.
    public func grantLease(ttlSeconds: Int) async throws -> Int64 {
        let answer = try await call("/v3/lease/grant", ["TTL": String(ttlSeconds)])
        guard let id = (answer["ID"] as? String).flatMap({ Int64($0) }) else {
            throw RingstoreError(.unavailable, "etcd granted no lease: \(answer)")
        }
        return id
    }

    /// Renews `lease`; false when it already expired (the caller registers again).
    public func keepAlive(_ lease: Int64) async throws -> Bool {
        let answer = try await call("/v3/lease/keepalive", ["ID": String(lease)])
        let result = answer["result"] as? [String: Any]
        return Int64(result?["TTL"] as? String ?? "0") ?? 0 > 0
    }

    /// Ends `lease` now: the keys bound to it go at once.
    public func revoke(_ lease: Int64) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
    }

    private func call(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try await http.send(
            method: .POST, path: path, headers: [("Content-Type", "application/json")], body: Array(data))
        guard response.status == 200 else {
            throw RingstoreError(.unavailable, "etcd answered \(response.status) to \(path): \(response.bodyText)")
        }
        return (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// The smallest key after every key with this prefix (etcd's range_end for a prefix).
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
