import NIOCore
import NIOHTTP1
import Testing

@testable import RingstoreBenchKit

@Suite struct TargetOutcomeTests {
    @Test func redisWriteWithWaitNeedsEnoughReplicas() {
        let redis = RedisTarget(waitReplicas: 2, waitTimeoutMillis: 100)
        let write = Step.write(key: "k", value: ByteBuffer(string: "v"), context: nil)
        #expect(redis.request(for: write, host: "h").replies == 2)
        #expect(redis.outcome(of: [.resp(.simple("OK")), .resp(.integer(2))], for: write) == .ok(context: nil))
        #expect(
            redis.outcome(of: [.resp(.simple("OK")), .resp(.integer(1))], for: write) == .failed(kind: "wait-short"))
        #expect(
            redis.outcome(of: [.resp(.error("READONLY")), .resp(.integer(0))], for: write)
                == .failed(kind: "redis-error"))
        #expect(redis.outcome(of: [.resp(.bulk(nil))], for: .read(key: "k")) == .notFound)
    }

    @Test func ringstoreCarriesTheContextAndCountsSiblingsAsAnswers() {
        let ringstore = RingstoreTarget(keyspace: "ks", readParameters: "r=one", writeParameters: "w=all")
        var headers = HTTPHeaders()
        headers.add(name: "X-Ringstore-Context", value: "ctx")
        #expect(
            ringstore.outcome(of: [.http(status: 300, headers: headers, body: ByteBuffer())], for: .read(key: "k"))
                == .ok(context: "ctx"))
        #expect(
            ringstore.outcome(of: [.http(status: 404, headers: [:], body: ByteBuffer())], for: .read(key: "k"))
                == .notFound)
        #expect(
            ringstore.outcome(of: [.http(status: 503, headers: [:], body: ByteBuffer())], for: .read(key: "k"))
                == .failed(kind: "http-503"))
        guard
            case .http(_, let uri, let sent, _) = ringstore.request(
                for: .write(key: "k", value: ByteBuffer(string: "v"), context: "ctx"), host: "h")
        else {
            Issue.record("not HTTP")
            return
        }
        #expect(uri == "/v1/kv/ks/k?w=all")
        #expect(sent.first(name: "X-Ringstore-Context") == "ctx")
    }

    @Test func etcdRangesWithoutKvsFoundNothing() {
        let etcd = EtcdTarget(serializable: true)
        let empty = ByteBuffer(string: #"{"header":{"revision":"3"}}"#)
        let found = ByteBuffer(string: #"{"header":{},"kvs":[{"key":"aw=="}],"count":"1"}"#)
        #expect(etcd.outcome(of: [.http(status: 200, headers: [:], body: empty)], for: .read(key: "k")) == .notFound)
        #expect(
            etcd.outcome(of: [.http(status: 200, headers: [:], body: found)], for: .read(key: "k")) == .ok(context: nil)
        )
        guard case .http(_, let uri, _, let body?) = etcd.request(for: .read(key: "k"), host: "h") else {
            Issue.record("no body")
            return
        }
        #expect(uri == "/v3/kv/range")
        #expect(String(buffer: body) == #"{"key":"aw==","serializable":true}"#)
    }
}
