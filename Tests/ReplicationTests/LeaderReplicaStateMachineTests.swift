import Replication
import RingstoreCore
import Testing

/// The leader-mode replica core, events in and actions out: the same type the server's
/// `LeaderReplica` and the simulator drive.
@Suite struct LeaderReplicaStateMachineTests {
    typealias Machine = LeaderReplicaStateMachine

    /// A durable log and state in memory, filled by the test as the shell would after
    /// `append` and `apply` (it keeps trimmed entries: nothing reads them).
    final class MemoryLog: LeaderLogReader, PartitionStateReader, @unchecked Sendable {
        var entries: [LeaderEntry] = []
        var state: [[UInt8]: PartitionStateItem] = [:]
        func item(_ key: [UInt8]) throws(RingstoreError) -> PartitionStateItem? { state[key] }
        func keys() throws(RingstoreError) -> [[UInt8]] { state.keys.sorted { $0.lexicographicallyPrecedes($1) } }
        func entries(from: UInt64, through: UInt64, bytesMax: Int) throws(RingstoreError) -> [LeaderEntry] {
            guard from >= 1, through <= UInt64(entries.count), from <= through else {
                throw RingstoreError(.storage, "no entries \(from)...\(through)")
            }
            return Array(entries[Int(from - 1)..<Int(through)])
        }
    }

    static let (n1, n2, n3) = (NodeID("n1"), NodeID("n2"), NodeID("n3"))
    static let epoch = Epoch(7)

    static func configuration(leaseReads: Bool = true) -> LeaderReplicaConfiguration {
        var configuration = LeaderReplicaConfiguration(
            me: n1, replicas: [n1, n2, n3], minInSync: 2, lag: .milliseconds(1000))
        configuration.leaseReads = leaseReads
        return configuration
    }

    /// Performs the appends and applies `actions` ask for on `log` and reports them durable.
    static func persist(_ actions: [Machine.Action], _ machine: inout Machine, _ log: MemoryLog, now: UInt64)
        -> [Machine.Action]
    {
        var followUp: [Machine.Action] = []
        for action in actions {
            switch action {
            case .append(let entries):
                log.entries += entries
                followUp += machine.appended(through: UInt64(log.entries.count), now: now)
            case .apply(let entries, let mark):
                for entry in entries where !entry.isEpochStart {
                    log.state[entry.key] = entry.value.map {
                        PartitionStateItem(key: entry.key, position: entry.position, value: $0)
                    }
                }
                followUp += machine.applied(through: mark.applied.sequence, now: now)
            default:
                break
            }
        }
        return followUp
    }

    /// n1 leads epoch 7 with every replica in sync and a lease valid until `leaseUntil`;
    /// its epoch-start entry is durable, and both followers have fetched it when `synced`.
    static func leader(leaseReads: Bool = true, leaseUntil: UInt64 = 10_000, synced: Bool = true) throws -> (
        Machine, MemoryLog
    ) {
        let log = MemoryLog()
        var machine = try Machine(
            configuration: configuration(leaseReads: leaseReads), log: log, state: log, mark: .empty, durable: 0)
        let elected = machine.elected(epoch, inSync: [n1, n2, n3], leaseValidUntil: leaseUntil, now: 100)
        #expect(elected.contains(.roleChanged(leader: n1, epoch: epoch)))
        #expect(elected.contains(.append([LeaderEntry.epochStart(at: LogPosition(epoch: epoch, sequence: 1))])))
        _ = persist(elected, &machine, log, now: 101)
        if synced {
            for follower in [n2, n3] {
                _ = machine.fetchReceived(
                    ReplicaRequestID(900), FetchRequest(follower: follower, epoch: epoch, last: position(1)), now: 102)
            }
        }
        return (machine, log)
    }

    static func position(_ sequence: UInt64) -> LogPosition { LogPosition(epoch: epoch, sequence: sequence) }
    static func id(_ value: UInt64) -> ReplicaRequestID { ReplicaRequestID(value) }

    static func reads(_ actions: [Machine.Action]) -> [ReplicaRequestID: Result<LeaderRead, LeaderReadFailure>] {
        var found: [ReplicaRequestID: Result<LeaderRead, LeaderReadFailure>] = [:]
        for case .completeRead(let id, let result) in actions { found[id] = result }
        return found
    }

    static func writes(_ actions: [Machine.Action]) -> [ReplicaRequestID: LeaderWriteOutcome] {
        var found: [ReplicaRequestID: LeaderWriteOutcome] = [:]
        for case .completeWrite(let id, let outcome) in actions { found[id] = outcome }
        return found
    }

    @Test func aNewLeaderAsksEtcdUntilItsOwnEntryCommitsThenReadsUnderItsLease() throws {
        var (machine, _) = try Self.leader(synced: false)
        // The epoch-start entry is only on the leader: a linearizable read asks etcd, and
        // is answered once etcd confirms (the log it inherited, empty, is committed).
        let asked = machine.read(Self.id(1), key: [1], level: .linearizable, after: nil, deadline: 5000, now: 200)
        #expect(asked.contains(.confirmLeadership(epoch: Self.epoch)))
        #expect(Self.reads(asked).isEmpty)
        let confirmed = machine.leadershipConfirmed(epoch: Self.epoch, confirmed: true, now: 210)
        #expect(Self.reads(confirmed)[Self.id(1)] == .success(LeaderRead(value: nil, position: nil)))
        // Still no entry of its own committed: the next read asks etcd too.
        let again = machine.read(Self.id(2), key: [1], level: .linearizable, after: nil, deadline: 5000, now: 211)
        #expect(again.contains(.confirmLeadership(epoch: Self.epoch)))
        // Both followers fetch the epoch start (the high watermark waits for every ISR member).
        for (follower, fetch) in [(Self.n2, UInt64(50)), (Self.n3, 51)] {
            _ = machine.fetchReceived(
                Self.id(fetch), FetchRequest(follower: follower, epoch: Self.epoch, last: Self.position(1)), now: 220)
        }
        // Now a read is answered at once, without etcd.
        let local = machine.read(Self.id(3), key: [1], level: .linearizable, after: nil, deadline: 5000, now: 230)
        #expect(Self.reads(local)[Self.id(3)] == .success(LeaderRead(value: nil, position: nil)))
        #expect(!local.contains { if case .confirmLeadership = $0 { true } else { false } })
        // Past the lease's validity it asks etcd again.
        let late = machine.read(Self.id(4), key: [1], level: .linearizable, after: nil, deadline: 20_000, now: 10_000)
        #expect(Self.reads(late)[Self.id(4)] == nil)
    }

    @Test func withoutLeaseReadsEveryLinearizableReadIsConfirmedAndReadsShareAConfirmation() throws {
        var (machine, _) = try Self.leader(leaseReads: false)
        let first = machine.read(Self.id(1), key: [1], level: .linearizable, after: nil, deadline: 5000, now: 200)
        #expect(first.contains(.confirmLeadership(epoch: Self.epoch)))
        // A read arriving while a confirmation is under way waits for the next one.
        let second = machine.read(Self.id(2), key: [1], level: .linearizable, after: nil, deadline: 5000, now: 201)
        #expect(!second.contains(.confirmLeadership(epoch: Self.epoch)))
        let answered = machine.leadershipConfirmed(epoch: Self.epoch, confirmed: true, now: 205)
        #expect(Self.reads(answered).keys.sorted { $0.value < $1.value } == [Self.id(1)])
        #expect(answered.contains(.confirmLeadership(epoch: Self.epoch)))
        #expect(
            Self.reads(machine.leadershipConfirmed(epoch: Self.epoch, confirmed: false, now: 208))[Self.id(2)]
                == .failure(.notLeader(nil)))
    }

    @Test func aHeldFetchIsAnsweredAsSoonAsTheLeaderAppendsNotAtTheHoldDeadline() throws {
        var (machine, log) = try Self.leader()
        let held = machine.fetchReceived(
            Self.id(60), FetchRequest(follower: Self.n2, epoch: Self.epoch, last: Self.position(1)), now: 300)
        #expect(!held.contains { if case .answerFetch = $0 { true } else { false } })
        // The entry goes out as it is handed to the leader's log (the fsyncs overlap)...
        let write = machine.write(
            Self.id(2), key: [9], value: [1], ack: .all, condition: nil, deadline: 5000, now: 310)
        let entry = LeaderEntry(position: Self.position(2), key: [9], value: [1])
        #expect(
            write.contains(
                .answerFetch(
                    Self.id(60), .entries(epoch: Self.epoch, from: 2, through: 2, highWatermark: 1), [entry])))
        // ...but nothing is committed before the leader's own log has it durably.
        let early = machine.fetchReceived(
            Self.id(59), FetchRequest(follower: Self.n3, epoch: Self.epoch, last: Self.position(2)), now: 311)
        #expect(machine.status.highWatermark == 1 && Self.writes(early).isEmpty)
        _ = Self.persist(write, &machine, log, now: 312)
        // Both followers report the entry: the ack=all write is acknowledged.
        _ = machine.fetchReceived(
            Self.id(61), FetchRequest(follower: Self.n3, epoch: Self.epoch, last: Self.position(2)), now: 314)
        let acknowledged = machine.fetchReceived(
            Self.id(62), FetchRequest(follower: Self.n2, epoch: Self.epoch, last: Self.position(2)), now: 315)
        #expect(Self.writes(acknowledged)[Self.id(2)] == .written(Self.position(2)))
        // A fetch with nothing new is held, and answered when its hold is over.
        let again = machine.fetchReceived(
            Self.id(63), FetchRequest(follower: Self.n3, epoch: Self.epoch, last: Self.position(2)), now: 316)
        #expect(!again.contains { if case .answerFetch = $0 { true } else { false } })
        #expect(!machine.tick(now: 316 + 499).contains { if case .answerFetch = $0 { true } else { false } })
        let quiet = machine.tick(now: 316 + 500)
        #expect(quiet.contains(.answerFetch(Self.id(63), .upToDate(epoch: Self.epoch, highWatermark: 2), [])))
    }

    @Test func aFailedConditionIsAnsweredOnceWhatFailsItIsCommitted() throws {
        var (machine, log) = try Self.leader()
        _ = Self.persist(
            machine.write(Self.id(2), key: [9], value: [1], ack: .leader, condition: nil, deadline: 5000, now: 400),
            &machine, log, now: 401)
        // If-None-Match on a key written but not committed: no answer yet.
        let refused = machine.write(
            Self.id(3), key: [9], value: [2], ack: .all, condition: .absent, deadline: 5000, now: 402)
        #expect(Self.writes(refused)[Self.id(3)] == nil)
        _ = machine.fetchReceived(
            Self.id(70), FetchRequest(follower: Self.n2, epoch: Self.epoch, last: Self.position(2)), now: 403)
        let committed = machine.fetchReceived(
            Self.id(71), FetchRequest(follower: Self.n3, epoch: Self.epoch, last: Self.position(2)), now: 404)
        #expect(Self.writes(committed)[Self.id(3)] == .conditionFailed(current: Self.position(2)))
        // If-Match with the current version goes through.
        let matched = machine.write(
            Self.id(4), key: [9], value: [3], ack: .leader, condition: .matches(Self.position(2)), deadline: 5000,
            now: 405)
        #expect(matched.contains(.append([LeaderEntry(position: Self.position(3), key: [9], value: [3])])))
    }

    /// A replica reopened over a trimmed log: the state holds what was applied, the mark
    /// the epoch history. Tokens below the log's start are judged by that history; as a
    /// leader it sends a follower that lacks the trimmed entries to a snapshot.
    @Test func tokensBelowTheLogStartAreJudgedByTheHistoryAndLaggingFollowersGetASnapshot() throws {
        let log = MemoryLog()
        var history = EpochHistory()
        history.begin(Self.epoch, at: 1)
        history.begin(Epoch(9), at: 6)
        log.state[[1]] = PartitionStateItem(key: [1], position: LogPosition(epoch: Epoch(9), sequence: 10), value: [5])
        let mark = PartitionStateMark(applied: LogPosition(epoch: Epoch(9), sequence: 10), history: history)
        var machine = try Machine(configuration: Self.configuration(), log: log, state: log, mark: mark, durable: 10)
        #expect(machine.logStartSequence == 11 && machine.appliedThroughSequence == 10)
        _ = machine.leaderIs(Self.n2, epoch: Epoch(9), now: 10)
        func read(_ id: UInt64, after: LogPosition) -> Result<LeaderRead, LeaderReadFailure>? {
            Self.reads(machine.read(Self.id(id), key: [1], level: .follower, after: after, deadline: 500, now: 20))[
                Self.id(id)]
        }
        let current = LeaderRead(value: [5], position: LogPosition(epoch: Epoch(9), sequence: 10))
        #expect(read(1, after: Self.position(3)) == .success(current), "epoch 7 wrote sequence 3: committed")
        let lost = LogPosition(epoch: Epoch(8), sequence: 7)
        #expect(read(2, after: lost) == .failure(.tokenLost(lost)), "epoch 9 wrote sequence 7: 8.7 was cut")
        #expect(read(3, after: LogPosition(epoch: Epoch(9), sequence: 10)) == .success(current))

        // Leading epoch 11, it answers a fetch from below its log's start with a snapshot.
        _ = machine.elected(Epoch(11), inSync: [Self.n1, Self.n2, Self.n3], leaseValidUntil: 10_000, now: 30)
        let fetched = machine.fetchReceived(
            Self.id(4), FetchRequest(follower: Self.n3, epoch: Epoch(11), last: Self.position(3)), now: 31)
        #expect(fetched.contains(.answerFetch(Self.id(4), .snapshot(epoch: Epoch(11), logStart: 11), [])))
        let part = machine.snapshotRequested(
            Self.id(5), SnapshotRequest(follower: Self.n3, epoch: Epoch(11), base: nil, offset: 0), now: 32)
        var through = history
        through.truncate(after: 10)
        #expect(
            part.contains(
                .answerSnapshot(
                    Self.id(5),
                    .chunk(
                        epoch: Epoch(11), base: LogPosition(epoch: Epoch(9), sequence: 10), history: through,
                        items: [log.state[[1]]!], next: nil))))
        // A request for a snapshot the leader does not hold is told to begin again.
        let stale = machine.snapshotRequested(
            Self.id(6), SnapshotRequest(follower: Self.n2, epoch: Epoch(11), base: Self.position(4), offset: 1), now: 33
        )
        #expect(stale.contains(.answerSnapshot(Self.id(6), .gone(epoch: Epoch(11)))))
    }

    @Test func steppingDownAnswersEverythingThatWaitsOnTheLeader() throws {
        var (machine, log) = try Self.leader(leaseReads: false)
        let write = machine.write(Self.id(2), key: [9], value: [1], ack: .all, condition: nil, deadline: 5000, now: 500)
        _ = Self.persist(write, &machine, log, now: 501)
        _ = machine.read(Self.id(3), key: [9], level: .linearizable, after: nil, deadline: 5000, now: 502)
        _ = machine.fetchReceived(
            Self.id(80), FetchRequest(follower: Self.n2, epoch: Self.epoch, last: Self.position(2)), now: 503)
        let deposed = machine.leaderIs(Self.n2, epoch: Epoch(9), now: 504)
        #expect(Self.writes(deposed)[Self.id(2)].map { if case .unknown = $0 { true } else { false } } == true)
        #expect(Self.reads(deposed)[Self.id(3)] == .failure(.notLeader(nil)))
        #expect(deposed.contains(.answerFetch(Self.id(80), .fenced(epoch: Epoch(9)), [])))
        #expect(deposed.contains(.roleChanged(leader: nil, epoch: Epoch(9))))
        // It follows the new leader from its log's end.
        #expect(
            deposed.contains(
                .sendFetch(
                    number: 1, to: Self.n2, FetchRequest(follower: Self.n1, epoch: Epoch(9), last: Self.position(2)))))
        #expect(!machine.isLeading && machine.knownLeader == Self.n2)
    }

    @Test func aFollowerAppendsOnlyWhatFollowsItsLogAndNeverCutsWhatIsCommitted() throws {
        let log = MemoryLog()
        var configuration = Self.configuration()
        configuration.me = Self.n2
        var machine = try Machine(configuration: configuration, log: log, state: log, mark: .empty, durable: 0)
        let first = machine.leaderIs(Self.n1, epoch: Self.epoch, now: 10)
        #expect(
            first.contains(
                .sendFetch(number: 1, to: Self.n1, FetchRequest(follower: Self.n2, epoch: Self.epoch, last: .start))))
        // Entries that skip a sequence are not appended; the fetch is retried later.
        let gap = [LeaderEntry(position: Self.position(2), key: [1], value: [1])]
        let skipped = machine.fetchAnswered(
            number: 1, .entries(epoch: Self.epoch, from: 1, through: 1, highWatermark: 0), entries: gap, now: 20)
        #expect(!skipped.contains { if case .append = $0 { true } else { false } })
        let retried = machine.tick(now: 20 + 100)
        #expect(retried.contains { if case .sendFetch(2, Self.n1, _) = $0 { true } else { false } })
        // In order: appended, then committed once the leader's high watermark says so.
        let entries = [
            LeaderEntry.epochStart(at: Self.position(1)), LeaderEntry(position: Self.position(2), key: [1], value: [1]),
        ]
        let append = machine.fetchAnswered(
            number: 2, .entries(epoch: Self.epoch, from: 1, through: 2, highWatermark: 0), entries: entries, now: 130)
        #expect(append.contains(.append(entries)))
        log.entries = entries
        let next = machine.appended(through: 2, now: 131)
        #expect(
            next.contains(
                .sendFetch(
                    number: 3, to: Self.n1, FetchRequest(follower: Self.n2, epoch: Self.epoch, last: Self.position(2))))
        )
        _ = machine.fetchAnswered(number: 3, .upToDate(epoch: Self.epoch, highWatermark: 2), entries: [], now: 140)
        #expect(machine.committedThroughSequence == 2)
        let read = machine.read(
            Self.id(1), key: [1], level: .follower, after: Self.position(2), deadline: 500, now: 141)
        #expect(Self.reads(read)[Self.id(1)] == .success(LeaderRead(value: [1], position: Self.position(2))))
        // A leader asking it to cut a committed entry is not believed.
        let cut = machine.fetchAnswered(
            number: 4, .diverging(epoch: Self.epoch, divergingEpoch: .none, end: 0), entries: [], now: 150)
        #expect(!cut.contains(.truncate(after: 0)))
        // An answer to a fetch that is no longer under way is ignored.
        #expect(
            machine.fetchAnswered(number: 1, .upToDate(epoch: Self.epoch, highWatermark: 2), entries: [], now: 160)
                .isEmpty)
    }

    @Test func aFollowerReportsTheUncommittedEntriesItCutWhenANewerLeaderPartsFromIt() throws {
        let log = MemoryLog()
        var configuration = Self.configuration()
        configuration.me = Self.n2
        var machine = try Machine(configuration: configuration, log: log, state: log, mark: .empty, durable: 0)
        _ = machine.leaderIs(Self.n1, epoch: Self.epoch, now: 10)
        let entries = [
            LeaderEntry.epochStart(at: Self.position(1)), LeaderEntry(position: Self.position(2), key: [1], value: [1]),
            LeaderEntry(position: Self.position(3), key: [2], value: nil),
        ]
        _ = machine.fetchAnswered(
            number: 1, .entries(epoch: Self.epoch, from: 1, through: 3, highWatermark: 0), entries: entries, now: 20)
        log.entries = entries
        _ = machine.appended(through: 3, now: 25)
        // n3 leads epoch 9; its log has only the epoch start of 7.
        _ = machine.leaderIs(Self.n3, epoch: Epoch(9), now: 30)
        let diverging = machine.fetchAnswered(
            number: 3, .diverging(epoch: Epoch(9), divergingEpoch: Self.epoch, end: 1), entries: [], now: 40)
        #expect(diverging.contains(.truncate(after: 1)))
        log.entries.removeLast(2)
        let cut = machine.truncated(after: 1, now: 45)
        let report = LeaderLogCut(
            epoch: Epoch(9), first: Self.position(2), last: Self.position(3), count: 2,
            writes: [.init(position: Self.position(2), key: [1]), .init(position: Self.position(3), key: [2])],
            appendedFrom: 20, appendedThrough: 20)
        #expect(cut.contains(.logCut(report)))
        #expect(
            cut.contains(
                .sendFetch(
                    number: 4, to: Self.n3, FetchRequest(follower: Self.n2, epoch: Epoch(9), last: Self.position(1)))))
    }

    @Test func aWriteNotAcknowledgedByItsDeadlineIsOfUnknownOutcome() throws {
        var (machine, log) = try Self.leader()
        let write = machine.write(Self.id(2), key: [9], value: [1], ack: .all, condition: nil, deadline: 700, now: 600)
        _ = Self.persist(write, &machine, log, now: 601)
        #expect(Self.writes(machine.tick(now: 699))[Self.id(2)] == nil)
        let late = machine.tick(now: 700)
        #expect(Self.writes(late)[Self.id(2)].map { if case .unknown = $0 { true } else { false } } == true)
    }
}
