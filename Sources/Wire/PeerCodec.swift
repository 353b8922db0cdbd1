import Replication
import RingstoreCore

/// Peer requests and replies as frames (docs/log-format.md describes the frame). A
/// request's kind is below 0x80, a reply's at or above; a reply carries its request's
/// id. Decoding checks every length and answers nil for anything malformed: a peer's
/// garbage closes its connection and never crashes the node.
public enum PeerCodec {
    /// The frame kinds of peer messages.
    public enum Kind: UInt8, Sendable {
        case merge = 0x01
        case read = 0x02
        case coordinateWrite = 0x03
        case ping = 0x04
        case hint = 0x05
        case treeLeaves = 0x06
        case bucketDigests = 0x07
        case tombstoneCheck = 0x08
        case purge = 0x09
        case leaderFetch = 0x0A
        case leaderWrite = 0x0B
        case leaderRead = 0x0C
        case leaderSnapshot = 0x0D
        case transferObjects = 0x0E
        case merged = 0x81
        case object = 0x82
        case written = 0x83
        case pong = 0x84
        case leaves = 0x85
        case digests = 0x86
        case tombstoneState = 0x87
        case leaderFetched = 0x88
        case leaderWritten = 0x89
        case leaderValue = 0x8A
        case leaderSnapshotPart = 0x8B
        case transferred = 0x8C
        case failed = 0x8F
    }

    public static func frame(_ request: PeerRequest, id: UInt64) -> Frame {
        var w = ByteWriter()
        let kind: Kind
        switch request {
        case .merge(let keyspace, let key, let object):
            kind = .merge
            writeAddress(&w, keyspace, key)
            writeLongBlob(&w, object.encoded())
        case .read(let keyspace, let key):
            kind = .read
            writeAddress(&w, keyspace, key)
        case .coordinateWrite(let write):
            kind = .coordinateWrite
            writeAddress(&w, write.keyspace, write.key)
            w.write(write.value == nil ? UInt8(0) : 1)
            if let value = write.value { writeLongBlob(&w, value) }
            w.writeShortBlob(Array((write.contentType ?? "").utf8))
            w.write(write.context == nil ? UInt8(0) : 1)
            write.context?.write(into: &w)
            w.writeShortBlob(Array((write.level?.description ?? "").utf8))
            w.write(write.timeoutMillis)
            w.write(write.sloppy.map { $0 ? UInt8(2) : 1 } ?? 0)
        case .hint(let owner, let keyspace, let key, let object):
            kind = .hint
            writeAddress(&w, keyspace, key)
            w.writeShortBlob(Array(owner.name.utf8))
            writeLongBlob(&w, object.encoded())
        case .tombstoneCheck(let keyspace, let key):
            kind = .tombstoneCheck
            writeAddress(&w, keyspace, key)
        case .purge(let keyspace, let key, let object):
            kind = .purge
            writeAddress(&w, keyspace, key)
            writeLongBlob(&w, object.encoded())
        case .treeLeaves(let keyspace, let partition):
            kind = .treeLeaves
            w.writeShortBlob(Array(keyspace.utf8.prefix(Int(UInt16.max))))
            w.write(UInt32(clamping: partition))
        case .bucketDigests(let keyspace, let partition, let buckets):
            kind = .bucketDigests
            w.writeShortBlob(Array(keyspace.utf8.prefix(Int(UInt16.max))))
            w.write(UInt32(clamping: partition))
            w.write(UInt16(clamping: buckets.count))
            for bucket in buckets.prefix(Int(UInt16.max)) { w.write(UInt16(clamping: bucket)) }
        case .leaderFetch(let keyspace, let partition, let fetch):
            kind = .leaderFetch
            writeFollowerAsking(&w, keyspace, partition, fetch.follower, fetch.epoch)
            w.write(fetch.last.epoch.value)
            w.write(fetch.last.sequence)
        case .leaderSnapshot(let keyspace, let partition, let request):
            kind = .leaderSnapshot
            writeFollowerAsking(&w, keyspace, partition, request.follower, request.epoch)
            w.write(request.base == nil ? UInt8(0) : 1)
            if let base = request.base { writePosition(&w, base) }
            w.write(request.offset)
        case .leaderWrite(let write):
            kind = .leaderWrite
            writeAddress(&w, write.keyspace, write.key)
            w.write(write.value == nil ? UInt8(0) : 1)
            if let value = write.value { writeLongBlob(&w, value) }
            w.write(write.ack.map { $0 == .all ? UInt8(2) : 1 } ?? 0)
            switch write.condition {
            case nil: w.write(UInt8(0))
            case .absent: w.write(UInt8(1))
            case .matches(let position):
                w.write(UInt8(2))
                writePosition(&w, position)
            }
            w.write(write.timeoutMillis)
        case .leaderRead(let read):
            kind = .leaderRead
            writeAddress(&w, read.keyspace, read.key)
            w.writeShortBlob(Array(read.level.rawValue.utf8))
            w.write(read.after == nil ? UInt8(0) : 1)
            if let after = read.after { writePosition(&w, after) }
            w.write(read.timeoutMillis)
        case .transferObjects(let keyspace, let keys):
            kind = .transferObjects
            w.writeShortBlob(Array(keyspace.utf8.prefix(Int(UInt16.max))))
            w.write(UInt32(clamping: keys.count))
            for key in keys { w.writeShortBlob(Array(key.prefix(Int(UInt16.max)))) }
        case .ping:
            return Frame(kind: Kind.ping.rawValue, requestID: id, payload: [])
        }
        return Frame(kind: kind.rawValue, requestID: id, payload: w.bytes)
    }

    public static func request(_ frame: Frame) -> PeerRequest? {
        if frame.kind == Kind.ping.rawValue { return frame.payload.isEmpty ? .ping : nil }
        var r = ByteReader(frame.payload)
        if frame.kind == Kind.leaderFetch.rawValue {
            guard let keyspace = r.readShortBlob(), let partition: UInt32 = r.read(), let follower = r.readShortBlob(),
                let epoch: UInt64 = r.read(), let lastEpoch: UInt64 = r.read(), let lastSequence: UInt64 = r.read(),
                r.remaining == 0
            else { return nil }
            return .leaderFetch(
                keyspace: String(decoding: keyspace, as: UTF8.self), partition: Int(partition),
                FetchRequest(
                    follower: NodeID(String(decoding: follower, as: UTF8.self)), epoch: Epoch(epoch),
                    last: LogPosition(epoch: Epoch(lastEpoch), sequence: lastSequence)))
        }
        if frame.kind == Kind.leaderSnapshot.rawValue {
            guard let keyspace = r.readShortBlob(), let partition: UInt32 = r.read(), let follower = r.readShortBlob(),
                let epoch: UInt64 = r.read(), let hasBase: UInt8 = r.read(), hasBase <= 1
            else { return nil }
            var base: LogPosition?
            if hasBase == 1 {
                guard let position = readPosition(&r) else { return nil }
                base = position
            }
            guard let offset: UInt64 = r.read(), r.remaining == 0 else { return nil }
            return .leaderSnapshot(
                keyspace: String(decoding: keyspace, as: UTF8.self), partition: Int(partition),
                SnapshotRequest(
                    follower: NodeID(String(decoding: follower, as: UTF8.self)), epoch: Epoch(epoch), base: base,
                    offset: offset))
        }
        if frame.kind == Kind.transferObjects.rawValue {
            guard let keyspace = r.readShortBlob(), let count: UInt32 = r.read(), Int(count) <= r.remaining / 2 else {
                return nil
            }
            var keys: [[UInt8]] = []
            for _ in 0..<count {
                guard let key = r.readShortBlob() else { return nil }
                keys.append(key)
            }
            return r.remaining == 0
                ? .transferObjects(keyspace: String(decoding: keyspace, as: UTF8.self), keys: keys) : nil
        }
        if frame.kind == Kind.treeLeaves.rawValue || frame.kind == Kind.bucketDigests.rawValue {
            guard let keyspace = r.readShortBlob(), let partition: UInt32 = r.read() else { return nil }
            let name = String(decoding: keyspace, as: UTF8.self)
            let request: PeerRequest
            if frame.kind == Kind.treeLeaves.rawValue {
                request = .treeLeaves(keyspace: name, partition: Int(partition))
            } else {
                guard let count: UInt16 = r.read(), r.remaining == Int(count) * 2 else { return nil }
                var buckets: [Int] = []
                for _ in 0..<count {
                    guard let bucket: UInt16 = r.read() else { return nil }
                    buckets.append(Int(bucket))
                }
                request = .bucketDigests(keyspace: name, partition: Int(partition), buckets: buckets)
            }
            return r.remaining == 0 ? request : nil
        }
        guard let kind = Kind(rawValue: frame.kind), let (keyspace, key) = readAddress(&r) else { return nil }
        let request: PeerRequest
        switch kind {
        case .merge:
            guard let bytes = readLongBlob(&r), let object = ReplicaObject(decoding: bytes) else { return nil }
            request = .merge(keyspace: keyspace, key: key, object: object)
        case .read:
            request = .read(keyspace: keyspace, key: key)
        case .tombstoneCheck:
            request = .tombstoneCheck(keyspace: keyspace, key: key)
        case .purge:
            guard let bytes = readLongBlob(&r), let object = ReplicaObject(decoding: bytes) else { return nil }
            request = .purge(keyspace: keyspace, key: key, object: object)
        case .hint:
            guard let owner = r.readShortBlob(), let bytes = readLongBlob(&r),
                let object = ReplicaObject(decoding: bytes)
            else { return nil }
            request = .hint(
                owner: NodeID(String(decoding: owner, as: UTF8.self)), keyspace: keyspace, key: key, object: object)
        case .leaderWrite:
            guard let hasValue: UInt8 = r.read(), hasValue <= 1 else { return nil }
            var value: [UInt8]?
            if hasValue == 1 {
                guard let bytes = readLongBlob(&r) else { return nil }
                value = bytes
            }
            guard let ack: UInt8 = r.read(), ack <= 2, let conditionTag: UInt8 = r.read(), conditionTag <= 2 else {
                return nil
            }
            var condition: LeaderWriteCondition?
            if conditionTag == 1 { condition = .absent }
            if conditionTag == 2 {
                guard let position = readPosition(&r) else { return nil }
                condition = .matches(position)
            }
            guard let timeout: UInt32 = r.read() else { return nil }
            request = .leaderWrite(
                LeaderWriteRequest(
                    keyspace: keyspace, key: key, value: value, ack: [nil, .leader, .all][Int(ack)],
                    condition: condition, timeoutMillis: timeout))
        case .leaderRead:
            guard let levelText = r.readShortBlob(),
                let level = LeaderReadLevel(rawValue: String(decoding: levelText, as: UTF8.self)),
                let hasAfter: UInt8 = r.read(), hasAfter <= 1
            else { return nil }
            var after: LogPosition?
            if hasAfter == 1 {
                guard let position = readPosition(&r) else { return nil }
                after = position
            }
            guard let timeout: UInt32 = r.read() else { return nil }
            request = .leaderRead(
                LeaderReadRequest(keyspace: keyspace, key: key, level: level, after: after, timeoutMillis: timeout))
        case .coordinateWrite:
            guard let hasValue: UInt8 = r.read(), hasValue <= 1 else { return nil }
            var value: [UInt8]?
            if hasValue == 1 {
                guard let bytes = readLongBlob(&r) else { return nil }
                value = bytes
            }
            guard let type = r.readShortBlob(), let hasContext: UInt8 = r.read(), hasContext <= 1 else { return nil }
            var context: VersionVector?
            if hasContext == 1 {
                guard let clock = VersionVector.read(from: &r) else { return nil }
                context = clock
            }
            guard let levelText = r.readShortBlob(), let timeout: UInt32 = r.read(), let sloppy: UInt8 = r.read(),
                sloppy <= 2
            else { return nil }
            var level: ConsistencyLevel?
            if !levelText.isEmpty {
                guard let parsed = try? ConsistencyLevel(parsing: String(decoding: levelText, as: UTF8.self)) else {
                    return nil
                }
                level = parsed
            }
            request = .coordinateWrite(
                ClientWrite(
                    keyspace: keyspace, key: key, value: value,
                    contentType: type.isEmpty ? nil : String(decoding: type, as: UTF8.self), context: context,
                    level: level, timeoutMillis: timeout, sloppy: sloppy == 0 ? nil : sloppy == 2))
        default:
            return nil
        }
        return r.remaining == 0 ? request : nil
    }

    public static func frame(_ reply: PeerReply, id: UInt64) -> Frame {
        var w = ByteWriter()
        let kind: Kind
        switch reply {
        case .merged:
            kind = .merged
        case .pong:
            kind = .pong
        case .leaves(let leaves):
            kind = .leaves
            w.write(UInt16(clamping: leaves.count))
            for leaf in leaves.prefix(Int(UInt16.max)) { w.write(leaf) }
        case .digests(let digests):
            kind = .digests
            w.write(UInt32(clamping: digests.count))
            for (key, digest) in digests.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                w.writeShortBlob(Array(key.prefix(Int(UInt16.max))))
                w.write(digest)
            }
        case .object(let object):
            kind = .object
            writeOptionalObject(&w, object)
        case .transferred(let objects):
            kind = .transferred
            w.write(UInt32(clamping: objects.count))
            for item in objects {
                w.writeShortBlob(Array(item.storageKey.prefix(Int(UInt16.max))))
                writeOptionalObject(&w, item.object)
            }
        case .tombstoneState(let object, let keepsHint):
            kind = .tombstoneState
            writeOptionalObject(&w, object)
            w.write(keepsHint ? UInt8(1) : 0)
        case .written(let outcome):
            kind = .written
            w.write(outcome.version.timestamp.physicalMillis)
            w.write(outcome.version.timestamp.logical)
            w.writeShortBlob(Array(outcome.version.node.name.utf8))
            outcome.context.write(into: &w)
            writeNames(&w, outcome.acknowledged)
            w.write(UInt16(clamping: outcome.required))
            w.writeShortBlob(Array(outcome.coordinator.name.utf8))
            writeNames(&w, outcome.hinted)
        case .leaderFetched(let fetched, let entries):
            kind = .leaderFetched
            writeFetchReply(&w, fetched)
            w.write(UInt32(clamping: entries.count))
            for entry in entries {
                w.write(entry.position.sequence)
                writeLongBlob(&w, entry.encoded())
            }
        case .leaderSnapshotPart(let answer):
            kind = .leaderSnapshotPart
            writeSnapshotReply(&w, answer)
        case .leaderWritten(let position, let leader):
            kind = .leaderWritten
            writePosition(&w, position)
            w.writeShortBlob(Array(leader.name.utf8.prefix(Int(UInt16.max))))
        case .leaderValue(let answer):
            kind = .leaderValue
            w.write(answer.value == nil ? UInt8(0) : 1)
            if let value = answer.value { writeLongBlob(&w, value) }
            w.write(answer.position == nil ? UInt8(0) : 1)
            if let position = answer.position { writePosition(&w, position) }
            w.writeShortBlob(Array(answer.replica.name.utf8.prefix(Int(UInt16.max))))
        case .failed(let code, let detail, let required, let answered):
            kind = .failed
            w.writeShortBlob(Array(code.utf8.prefix(255)))
            w.writeShortBlob(Array(detail.utf8.prefix(4096)))
            w.write(UInt16(clamping: required.map { $0 + 1 } ?? 0))
            w.write(UInt16(clamping: answered.map { $0 + 1 } ?? 0))
        }
        return Frame(kind: kind.rawValue, requestID: id, payload: w.bytes)
    }

    public static func reply(_ frame: Frame) -> PeerReply? {
        var r = ByteReader(frame.payload)
        guard let kind = Kind(rawValue: frame.kind) else { return nil }
        let reply: PeerReply
        switch kind {
        case .merged:
            reply = .merged
        case .pong:
            reply = .pong
        case .leaves:
            guard let count: UInt16 = r.read(), r.remaining == Int(count) * 8 else { return nil }
            var leaves: [UInt64] = []
            leaves.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let leaf: UInt64 = r.read() else { return nil }
                leaves.append(leaf)
            }
            reply = .leaves(leaves)
        case .digests:
            guard let count: UInt32 = r.read(), Int(count) <= r.remaining / 10 else { return nil }
            var digests: [[UInt8]: UInt64] = [:]
            for _ in 0..<count {
                guard let key = r.readShortBlob(), let digest: UInt64 = r.read() else { return nil }
                digests[key] = digest
            }
            reply = .digests(digests)
        case .object:
            guard let object = readOptionalObject(&r) else { return nil }
            reply = .object(object)
        case .transferred:
            guard let count: UInt32 = r.read(), Int(count) <= r.remaining / 3 else { return nil }
            var objects: [TransferredObject] = []
            for _ in 0..<count {
                guard let key = r.readShortBlob(), let object = readOptionalObject(&r) else { return nil }
                objects.append(TransferredObject(storageKey: key, object: object))
            }
            reply = .transferred(objects)
        case .tombstoneState:
            guard let object = readOptionalObject(&r), let hint: UInt8 = r.read(), hint <= 1 else { return nil }
            reply = .tombstoneState(object: object, keepsHint: hint == 1)
        case .written:
            guard let millis: UInt64 = r.read(), let logical: UInt32 = r.read(), let node = r.readShortBlob(),
                let context = VersionVector.read(from: &r), let acknowledged = readNames(&r)
            else { return nil }
            guard let required: UInt16 = r.read(), let coordinator = r.readShortBlob(),
                let hinted = readNames(&r)
            else { return nil }
            reply = .written(
                WriteOutcome(
                    version: StoredVersion(
                        timestamp: HybridTimestamp(physicalMillis: millis, logical: logical),
                        node: NodeID(String(decoding: node, as: UTF8.self))),
                    context: context, acknowledged: acknowledged, required: Int(required),
                    coordinator: NodeID(String(decoding: coordinator, as: UTF8.self)), hinted: hinted))
        case .leaderFetched:
            guard let fetched = readFetchReply(&r), let count: UInt32 = r.read(), Int(count) <= r.remaining / 12 else {
                return nil
            }
            var entries: [LeaderEntry] = []
            for _ in 0..<count {
                guard let sequence: UInt64 = r.read(), let bytes = readLongBlob(&r),
                    let entry = try? LeaderEntry.decode(bytes, sequence: sequence)
                else { return nil }
                entries.append(entry)
            }
            reply = .leaderFetched(fetched, entries)
        case .leaderSnapshotPart:
            guard let answer = readSnapshotReply(&r) else { return nil }
            reply = .leaderSnapshotPart(answer)
        case .leaderWritten:
            guard let position = readPosition(&r), let leader = r.readShortBlob() else { return nil }
            reply = .leaderWritten(position, leader: NodeID(String(decoding: leader, as: UTF8.self)))
        case .leaderValue:
            guard let hasValue: UInt8 = r.read(), hasValue <= 1 else { return nil }
            var value: [UInt8]?
            if hasValue == 1 {
                guard let bytes = readLongBlob(&r) else { return nil }
                value = bytes
            }
            guard let hasPosition: UInt8 = r.read(), hasPosition <= 1 else { return nil }
            var position: LogPosition?
            if hasPosition == 1 {
                guard let read = readPosition(&r) else { return nil }
                position = read
            }
            guard let replica = r.readShortBlob() else { return nil }
            reply = .leaderValue(
                LeaderValue(value: value, position: position, replica: NodeID(String(decoding: replica, as: UTF8.self)))
            )
        case .failed:
            guard let code = r.readShortBlob(), let detail = r.readShortBlob(), let required: UInt16 = r.read(),
                let answered: UInt16 = r.read()
            else { return nil }
            reply = .failed(
                code: String(decoding: code, as: UTF8.self), detail: String(decoding: detail, as: UTF8.self),
                required: required == 0 ? nil : Int(required) - 1, answered: answered == 0 ? nil : Int(answered) - 1)
        default:
            return nil
        }
        return r.remaining == 0 ? reply : nil
    }

    /// A fetch reply: a tag (0 entries, 1 diverging, 2 up to date, 3 fenced, 4 snapshot), then its
    /// numbers as u64.
    private static func writeFetchReply(_ w: inout ByteWriter, _ reply: FetchReply) {
        switch reply {
        case .entries(let epoch, let from, let through, let highWatermark):
            w.write(UInt8(0))
            for number in [epoch.value, from, through, highWatermark] { w.write(number) }
        case .diverging(let epoch, let divergingEpoch, let end):
            w.write(UInt8(1))
            for number in [epoch.value, divergingEpoch.value, end] { w.write(number) }
        case .upToDate(let epoch, let highWatermark):
            w.write(UInt8(2))
            for number in [epoch.value, highWatermark] { w.write(number) }
        case .fenced(let epoch):
            w.write(UInt8(3))
            w.write(epoch.value)
        case .snapshot(let epoch, let logStart):
            w.write(UInt8(4))
            for number in [epoch.value, logStart] { w.write(number) }
        }
    }

    private static func readFetchReply(_ r: inout ByteReader) -> FetchReply? {
        guard let tag: UInt8 = r.read(), tag <= 4 else { return nil }
        var numbers: [UInt64] = []
        for _ in 0..<[4, 3, 2, 1, 2][Int(tag)] {
            guard let number: UInt64 = r.read() else { return nil }
            numbers.append(number)
        }
        switch tag {
        case 0:
            return .entries(epoch: Epoch(numbers[0]), from: numbers[1], through: numbers[2], highWatermark: numbers[3])
        case 1: return .diverging(epoch: Epoch(numbers[0]), divergingEpoch: Epoch(numbers[1]), end: numbers[2])
        case 2: return .upToDate(epoch: Epoch(numbers[0]), highWatermark: numbers[1])
        case 3: return .fenced(epoch: Epoch(numbers[0]))
        default: return .snapshot(epoch: Epoch(numbers[0]), logStart: numbers[1])
        }
    }

    /// A snapshot reply: a tag (0 a part, 1 gone, 2 fenced) and the epoch (u64); a part
    /// then has its base position, the epoch history (u32 count, epoch and start u64
    /// each), the next offset (u8 present, u64) and its items (u32 count; key as a short
    /// blob, position, value as a long blob).
    private static func writeSnapshotReply(_ w: inout ByteWriter, _ reply: SnapshotReply) {
        switch reply {
        case .chunk(let epoch, let base, let history, let items, let next):
            w.write(UInt8(0))
            w.write(epoch.value)
            writePosition(&w, base)
            w.write(UInt32(clamping: history.starts.count))
            for (started, start) in history.starts {
                w.write(started.value)
                w.write(start)
            }
            w.write(next == nil ? UInt8(0) : 1)
            w.write(next ?? 0)
            w.write(UInt32(clamping: items.count))
            for item in items {
                w.writeShortBlob(Array(item.key.prefix(Int(UInt16.max))))
                writePosition(&w, item.position)
                writeLongBlob(&w, item.value)
            }
        case .gone(let epoch):
            w.write(UInt8(1))
            w.write(epoch.value)
        case .fenced(let epoch):
            w.write(UInt8(2))
            w.write(epoch.value)
        }
    }

    private static func readSnapshotReply(_ r: inout ByteReader) -> SnapshotReply? {
        guard let tag: UInt8 = r.read(), tag <= 2, let epochValue: UInt64 = r.read() else { return nil }
        let epoch = Epoch(epochValue)
        if tag == 1 { return .gone(epoch: epoch) }
        if tag == 2 { return .fenced(epoch: epoch) }
        guard let base = readPosition(&r), let epochs: UInt32 = r.read(), Int(epochs) <= r.remaining / 16 else {
            return nil
        }
        var history = EpochHistory()
        for _ in 0..<epochs {
            guard let started: UInt64 = r.read(), let start: UInt64 = r.read() else { return nil }
            guard Epoch(started) > history.lastEpoch, start >= (history.starts.last?.start ?? 0) else { return nil }
            history.begin(Epoch(started), at: start)
        }
        guard let hasNext: UInt8 = r.read(), hasNext <= 1, let next: UInt64 = r.read(), let count: UInt32 = r.read(),
            Int(count) <= r.remaining / 22
        else { return nil }
        var items: [PartitionStateItem] = []
        for _ in 0..<count {
            guard let key = r.readShortBlob(), !key.isEmpty, let position = readPosition(&r),
                let value = readLongBlob(&r)
            else { return nil }
            items.append(PartitionStateItem(key: key, position: position, value: value))
        }
        return .chunk(epoch: epoch, base: base, history: history, items: items, next: hasNext == 1 ? next : nil)
    }

    /// What a follower's request to a partition's leader begins with: keyspace, u32
    /// partition, the follower's id and the u64 epoch it knows.
    private static func writeFollowerAsking(
        _ w: inout ByteWriter, _ keyspace: String, _ partition: Int, _ follower: NodeID, _ epoch: Epoch
    ) {
        w.writeShortBlob(Array(keyspace.utf8.prefix(Int(UInt16.max))))
        w.write(UInt32(clamping: partition))
        w.writeShortBlob(Array(follower.name.utf8.prefix(Int(UInt16.max))))
        w.write(epoch.value)
    }

    /// A leader-mode token: epoch and sequence as u64.
    private static func writePosition(_ w: inout ByteWriter, _ position: LogPosition) {
        w.write(position.epoch.value)
        w.write(position.sequence)
    }

    private static func readPosition(_ r: inout ByteReader) -> LogPosition? {
        guard let epoch: UInt64 = r.read(), let sequence: UInt64 = r.read() else { return nil }
        return LogPosition(epoch: Epoch(epoch), sequence: sequence)
    }

    private static func writeAddress(_ w: inout ByteWriter, _ keyspace: String, _ key: [UInt8]) {
        w.writeShortBlob(Array(keyspace.utf8.prefix(Int(UInt16.max))))
        w.writeShortBlob(Array(key.prefix(Int(UInt16.max))))
    }

    private static func readAddress(_ r: inout ByteReader) -> (String, [UInt8])? {
        guard let keyspace = r.readShortBlob(), let key = r.readShortBlob() else { return nil }
        return (String(decoding: keyspace, as: UTF8.self), key)
    }

    private static func writeLongBlob(_ w: inout ByteWriter, _ bytes: [UInt8]) {
        w.write(UInt32(bytes.count))
        w.write(bytes: bytes)
    }

    private static func readLongBlob(_ r: inout ByteReader) -> [UInt8]? {
        guard let length: UInt32 = r.read() else { return nil }
        return r.read(count: Int(length))
    }

    private static func writeNames(_ w: inout ByteWriter, _ nodes: [NodeID]) {
        w.write(UInt16(clamping: nodes.count))
        for node in nodes.prefix(Int(UInt16.max)) { w.writeShortBlob(Array(node.name.utf8)) }
    }

    private static func readNames(_ r: inout ByteReader) -> [NodeID]? {
        guard let count: UInt16 = r.read() else { return nil }
        var nodes: [NodeID] = []
        for _ in 0..<count {
            guard let name = r.readShortBlob() else { return nil }
            nodes.append(NodeID(String(decoding: name, as: UTF8.self)))
        }
        return nodes
    }

    private static func writeOptionalObject(_ w: inout ByteWriter, _ object: ReplicaObject?) {
        w.write(object == nil ? UInt8(0) : 1)
        if let object { writeLongBlob(&w, object.encoded()) }
    }

    /// `.some(nil)` for an absent object, nil for bytes that do not decode.
    private static func readOptionalObject(_ r: inout ByteReader) -> ReplicaObject?? {
        guard let present: UInt8 = r.read(), present <= 1 else { return nil }
        if present == 0 { return .some(nil) }
        guard let bytes = readLongBlob(&r), let object = ReplicaObject(decoding: bytes) else { return nil }
        return .some(object)
    }
}
