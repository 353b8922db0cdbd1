import Replication
import RingstoreCore
import Testing

@Suite struct PartitionLeaderTests {
    static let a = NodeID("a")
    static let b = NodeID("b")
    static let c = NodeID("c")

    static func leader(epoch: UInt64 = 5, inSync: Set<NodeID> = [a, b, c], minInSync: Int = 2, last: UInt64 = 0)
        -> PartitionLeader
    {
        var history = EpochHistory()
        if last > 0 { history.begin(Epoch(1), at: 1) }
        return PartitionLeader(
            me: a, epoch: Epoch(epoch), replicas: [a, b, c], inSync: inSync, minInSync: minInSync, lagMillis: 300,
            history: history, last: last, highWatermark: last, leaseValidUntil: 10_000, now: 0)
    }

    static func fetch(_ follower: NodeID, epoch: UInt64 = 5, at sequence: UInt64, of positionEpoch: UInt64 = 5)
        -> FetchRequest
    {
        FetchRequest(
            follower: follower, epoch: Epoch(epoch),
            last: LogPosition(epoch: sequence == 0 ? .none : Epoch(positionEpoch), sequence: sequence))
    }

    @Test func ackLeaderWaitsForTheLeadersDiskAndAckAllForEveryInSyncReplica() throws {
        var leader = Self.leader()
        let one = try leader.write(request: 1, ack: .leader, now: 1).get()
        let two = try leader.write(request: 2, ack: .all, now: 1).get()
        #expect(one == LogPosition(epoch: Epoch(5), sequence: 1) && two.sequence == 2)
        #expect(leader.appended(through: 2, now: 2) == [.acknowledge(request: 1, position: one)])
        // b has both; c has not fetched: the high watermark stays at 0.
        let (reply, actions) = leader.fetch(Self.fetch(Self.b, at: 2), now: 3)
        #expect(reply == .upToDate(epoch: Epoch(5), highWatermark: 0) && actions.isEmpty)
        #expect(
            leader.fetch(Self.fetch(Self.c, at: 0), now: 3).0
                == .entries(epoch: Epoch(5), from: 1, through: 2, highWatermark: 0))
        let (_, settled) = leader.fetch(Self.fetch(Self.c, at: 2), now: 4)
        #expect(settled == [.acknowledge(request: 2, position: two)])
        #expect(leader.highWatermark == 2)
    }

    @Test func aLaggingFollowerLeavesTheISRInEtcdBeforeSyncWritesGoOnWithoutIt() throws {
        var leader = Self.leader()
        let position = try leader.write(request: 1, ack: .all, now: 0).get()
        _ = leader.appended(through: 1, now: 1)
        _ = leader.fetch(Self.fetch(Self.b, at: 1), now: 2)
        #expect(leader.tick(now: 100).isEmpty)
        #expect(leader.tick(now: 300) == [.proposeInSync([Self.a, Self.b], epoch: Epoch(5))])
        #expect(leader.tick(now: 400).isEmpty, "one proposal at a time")
        #expect(leader.inSyncConfirmed([Self.a, Self.b], now: 401) == [.acknowledge(request: 1, position: position)])
        // c catches up and comes back.
        let (reply, actions) = leader.fetch(Self.fetch(Self.c, at: 1), now: 500)
        #expect(reply == .upToDate(epoch: Epoch(5), highWatermark: 1))
        #expect(actions == [.proposeInSync([Self.a, Self.b, Self.c], epoch: Epoch(5))])
    }

    @Test func theFormerLeaderLeavesTheISRAtTheFirstTickUnlessItCaughtUp() throws {
        var history = EpochHistory()
        history.begin(Epoch(1), at: 1)
        func elected(now: UInt64) -> PartitionLeader {
            PartitionLeader(
                me: Self.a, epoch: Epoch(5), replicas: [Self.a, Self.b, Self.c], inSync: [Self.a, Self.b, Self.c],
                minInSync: 2, lagMillis: 300, history: history, last: 4, highWatermark: 4, leaseValidUntil: 10_000,
                now: now, formerLeader: Self.b)
        }
        var leader = elected(now: 1000)
        #expect(leader.tick(now: 1001) == [.proposeInSync([Self.a, Self.c], epoch: Epoch(5))])
        // One that fetched everything first stays; so does every other follower.
        var caughtUp = elected(now: 1000)
        _ = caughtUp.fetch(Self.fetch(Self.b, at: 4, of: 1), now: 1001)
        #expect(caughtUp.tick(now: 1002).isEmpty)
    }

    @Test func syncWritesAreRefusedBelowMinInSync() throws {
        var leader = Self.leader(inSync: [Self.a], minInSync: 2)
        #expect(leader.write(request: 1, ack: .all, now: 0) == .failure(.notEnoughInSync(inSync: 1, required: 2)))
        #expect(try leader.write(request: 2, ack: .leader, now: 0).get().sequence == 1)
    }

    @Test func aFollowerPastTheLeadersLogIsToldWhereToCut() {
        // The leader's log: epoch 1 for 1...3, then its own epoch 5 from 4.
        var leader = Self.leader(last: 3)
        // A follower that wrote 4...6 in epoch 3 (a leader that lost them).
        let (reply, _) = leader.fetch(Self.fetch(Self.b, at: 6, of: 3), now: 1)
        #expect(reply == .diverging(epoch: Epoch(5), divergingEpoch: Epoch(1), end: 3))
    }

    @Test func aHigherEpochDeposesTheLeaderAndWhatWaitsIsRefused() throws {
        var leader = Self.leader()
        _ = try leader.write(request: 1, ack: .all, now: 0).get()
        let (reply, actions) = leader.fetch(Self.fetch(Self.b, epoch: 9, at: 0), now: 1)
        #expect(reply == .fenced(epoch: Epoch(9)))
        #expect(actions == [.refuse(request: 1, .notLeader(Epoch(9))), .stepDown(Epoch(9))])
        #expect(leader.write(request: 2, ack: .leader, now: 2) == .failure(.notLeader(Epoch(9))))
    }

    @Test func nothingIsAcknowledgedWhileTheLeaseIsInDoubt() throws {
        var leader = Self.leader()
        let position = try leader.write(request: 1, ack: .leader, now: 9_000).get()
        #expect(leader.appended(through: 1, now: 10_001).isEmpty)
        #expect(leader.write(request: 2, ack: .leader, now: 10_002) == .failure(.leaseExpired))
        #expect(leader.leaseRenewed(validUntil: 20_000, now: 10_003) == [.acknowledge(request: 1, position: position)])
    }

    @Test func linearizableReadsWaitUntilTheInheritedLogIsCommitted() {
        var leader = Self.leader(last: 3)
        #expect(leader.highWatermark == 3)
        var inherited = EpochHistory()
        inherited.begin(Epoch(1), at: 1)
        var fresh = PartitionLeader(
            me: Self.a, epoch: Epoch(5), replicas: [Self.a, Self.b, Self.c], inSync: [Self.a, Self.b],
            minInSync: 2, lagMillis: 300, history: inherited, last: 3, highWatermark: 1, leaseValidUntil: 100,
            now: 0)
        #expect(!fresh.servesLinearizableReads(now: 1))
        _ = fresh.fetch(Self.fetch(Self.b, at: 3, of: 1), now: 2)
        #expect(fresh.servesLinearizableReads(now: 3))
        #expect(!fresh.servesLinearizableReads(now: 100), "not once the lease is in doubt")
        _ = leader.leaseLost()
        #expect(!leader.isLeading)
    }
}

@Suite struct PartitionFollowerTests {
    static let a = NodeID("a")
    static let b = NodeID("b")

    @Test func followsTheNewestLeaderTruncatesWhereTheLogsPartAndAppendsInOrder() {
        var history = EpochHistory()
        history.begin(Epoch(1), at: 1)
        history.begin(Epoch(3), at: 4)
        var follower = PartitionFollower(me: Self.b, epoch: Epoch(3), history: history, last: 6, highWatermark: 3)
        let elected = follower.leaderElected(Self.a, epoch: Epoch(5))
        #expect(
            elected == [
                .fetch(
                    leader: Self.a,
                    FetchRequest(follower: Self.b, epoch: Epoch(5), last: LogPosition(epoch: Epoch(3), sequence: 6)))
            ])
        #expect(follower.leaderElected(Self.a, epoch: Epoch(4)).isEmpty, "older epochs change nothing")
        #expect(
            follower.fetched(.diverging(epoch: Epoch(5), divergingEpoch: Epoch(1), end: 3)) == [.truncate(after: 3)])
        let next = follower.truncated(after: 3)
        #expect(
            next == [
                .fetch(
                    leader: Self.a,
                    FetchRequest(follower: Self.b, epoch: Epoch(5), last: LogPosition(epoch: Epoch(1), sequence: 3)))
            ])
        #expect(follower.history.lastEpoch == Epoch(1))
        // Entries of an older epoch's leader are ignored; the current ones are appended.
        #expect(follower.fetched(.entries(epoch: Epoch(4), from: 4, through: 5, highWatermark: 5)).count == 1)
        _ = follower.fetchFailed()
        _ = follower.nextFetch()
        #expect(
            follower.fetched(.entries(epoch: Epoch(5), from: 4, through: 5, highWatermark: 5)) == [
                .append(from: 4, through: 5)
            ])
        _ = follower.appended(through: 5, epochs: [(Epoch(5), 4)])
        #expect(follower.position == LogPosition(epoch: Epoch(5), sequence: 5))
    }

    @Test func epochHistoryFindsTheEndOfAnEpoch() {
        var history = EpochHistory()
        history.begin(Epoch(2), at: 1)
        history.begin(Epoch(4), at: 10)
        history.begin(Epoch(7), at: 15)
        #expect(history.end(of: Epoch(1), last: 20) == (Epoch.none, 0))
        #expect(history.end(of: Epoch(2), last: 20) == (Epoch(2), 9))
        #expect(history.end(of: Epoch(5), last: 20) == (Epoch(4), 14))
        #expect(history.end(of: Epoch(9), last: 20) == (Epoch(7), 20))
        #expect(history.epoch(of: 12) == Epoch(4))
        history.truncate(after: 12)
        #expect(history.lastEpoch == Epoch(4))
    }
}
