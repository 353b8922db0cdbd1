import PropertyBased
import Replication
import RingstoreCore
import Testing
import Wire

@Suite struct PeerCodecTests {
    static let object = ReplicaObject(
        policy: .vv,
        siblings: [
            Sibling(
                dot: Dot(node: NodeID("n1"), counter: 3), timestamp: HybridTimestamp(physicalMillis: 9, logical: 1),
                value: [1, 2, 3], contentType: "text/plain"),
            Sibling(dot: Dot(node: NodeID("n2"), counter: 1), timestamp: .zero, value: nil, contentType: nil),
        ], clock: VersionVector([NodeID("n1"): 3, NodeID("n2"): 1]))

    static let requests: [PeerRequest] = [
        .ping,
        .merge(keyspace: "default", key: [0, 1, 255], object: object),
        .read(keyspace: "users", key: Array("k".utf8)),
        .coordinateWrite(
            ClientWrite(
                keyspace: "a", key: [7], value: [1, 2], contentType: "application/json",
                context: VersionVector([NodeID("n1"): 2]), level: .count(2), timeoutMillis: 500)),
        .coordinateWrite(
            ClientWrite(
                keyspace: "a", key: [7], value: nil, contentType: nil, context: nil, level: nil, timeoutMillis: 1)),
        .coordinateWrite(
            ClientWrite(
                keyspace: "a", key: [7], value: [], contentType: nil, context: nil, level: .one, timeoutMillis: 1,
                sloppy: true)),
        .coordinateWrite(
            ClientWrite(
                keyspace: "a", key: [7], value: [], contentType: nil, context: nil, level: .one, timeoutMillis: 1,
                sloppy: false)),
        .hint(owner: NodeID("n3"), keyspace: "default", key: [9, 0], object: object),
        .treeLeaves(keyspace: "default", partition: 63),
        .bucketDigests(keyspace: "users", partition: 0, buckets: [0, 7, 255]),
        .transferObjects(keyspace: "users", keys: []),
        .transferObjects(keyspace: "users", keys: [Array("users".utf8) + [0, 1], Array("users".utf8) + [0]]),
        .tombstoneCheck(keyspace: "users", key: [1]),
        .purge(keyspace: "users", key: [1], object: object),
        .leaderFetch(
            keyspace: "orders", partition: 5,
            FetchRequest(follower: NodeID("n2"), epoch: Epoch(9), last: LogPosition(epoch: Epoch(7), sequence: 42))),
        .leaderFetch(
            keyspace: "orders", partition: 0, FetchRequest(follower: NodeID("n3"), epoch: .none, last: .start)),
        .leaderWrite(
            LeaderWriteRequest(
                keyspace: "orders", key: [1, 2], value: [3], ack: .all,
                condition: .matches(LogPosition(epoch: Epoch(4), sequence: 9)), timeoutMillis: 5000)),
        .leaderWrite(
            LeaderWriteRequest(
                keyspace: "orders", key: [1], value: nil, ack: nil, condition: .absent, timeoutMillis: 1)),
        .leaderWrite(
            LeaderWriteRequest(keyspace: "o", key: [], value: [], ack: .leader, condition: nil, timeoutMillis: 7)),
        .leaderRead(
            LeaderReadRequest(
                keyspace: "orders", key: [5], level: .follower, after: LogPosition(epoch: Epoch(3), sequence: 1),
                timeoutMillis: 100)),
        .leaderRead(
            LeaderReadRequest(keyspace: "orders", key: [5], level: .linearizable, after: nil, timeoutMillis: 9)),
    ]

    static let replies: [PeerReply] = [
        .merged, .pong, .object(nil), .object(object),
        .written(
            WriteOutcome(
                version: StoredVersion(timestamp: HybridTimestamp(physicalMillis: 5, logical: 0), node: NodeID("n2")),
                context: VersionVector([NodeID("n2"): 4]), acknowledged: [NodeID("n2"), NodeID("n3")], required: 2,
                coordinator: NodeID("n2"))),
        .written(
            WriteOutcome(
                version: StoredVersion(timestamp: .zero, node: NodeID("n1")), context: .empty,
                acknowledged: [NodeID("n1"), NodeID("n4")], required: 2, coordinator: NodeID("n1"),
                hinted: [NodeID("n2")])),
        .leaves([]), .leaves([1, 2, UInt64.max]),
        .tombstoneState(object: nil, keepsHint: true), .tombstoneState(object: object, keepsHint: false),
        .digests([:]), .digests([[0, 1]: 7, Array("users".utf8) + [0, 9]: UInt64.max]),
        .transferred([]),
        .transferred([
            TransferredObject(storageKey: Array("users".utf8) + [0, 1], object: object),
            TransferredObject(storageKey: Array("users".utf8) + [0, 2], object: nil),
        ]),
        .leaderFetched(
            .entries(epoch: Epoch(9), from: 43, through: 44, highWatermark: 40),
            [
                LeaderEntry(position: LogPosition(epoch: Epoch(7), sequence: 43), key: [1], value: [2, 3]),
                LeaderEntry(position: LogPosition(epoch: Epoch(9), sequence: 44), key: [], value: nil),
            ]),
        .leaderFetched(.diverging(epoch: Epoch(9), divergingEpoch: Epoch(3), end: 17), []),
        .leaderFetched(.upToDate(epoch: Epoch(9), highWatermark: 44), []),
        .leaderFetched(.fenced(epoch: Epoch(12)), []),
        .leaderWritten(LogPosition(epoch: Epoch(12), sequence: 77), leader: NodeID("n2")),
        .leaderValue(
            LeaderValue(value: [1, 2], position: LogPosition(epoch: Epoch(1), sequence: 2), replica: NodeID("n1"))),
        .leaderValue(LeaderValue(value: nil, position: nil, replica: NodeID("n3"))),
        .failed(code: "unavailable", detail: "no", required: 3, answered: 0),
        .failed(code: "invalid-key", detail: "bad", required: nil, answered: nil),
    ]

    @Test(arguments: requests) func requestsRoundTrip(request: PeerRequest) {
        let frame = PeerCodec.frame(request, id: 42)
        #expect(frame.requestID == 42)
        #expect(PeerCodec.request(frame) == request)
        #expect(PeerCodec.reply(frame) == nil, "a request is not a reply")
    }

    @Test(arguments: replies) func repliesRoundTrip(reply: PeerReply) {
        #expect(PeerCodec.reply(PeerCodec.frame(reply, id: 7)) == reply)
    }

    @Test func garbagePayloadsDecodeToNilNeverCrash() async {
        await propertyCheck(count: 500, input: Gen.uint8(in: 0...0x90), Gen.uint8().array(of: 0...96)) {
            kind, payload in
            let frame = Frame(kind: kind, requestID: 1, payload: payload)
            _ = PeerCodec.request(frame)
            _ = PeerCodec.reply(frame)
        }
    }

    @Test func everyTruncationOfAValidRequestIsRejected() {
        for request in Self.requests {
            let frame = PeerCodec.frame(request, id: 1)
            for cut in 0..<frame.payload.count {
                #expect(
                    PeerCodec.request(Frame(kind: frame.kind, requestID: 1, payload: Array(frame.payload[..<cut])))
                        == nil)
            }
        }
    }
}
