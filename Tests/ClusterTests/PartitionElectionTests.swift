import Replication
import RingstoreCore
import RingstoreServer
import Testing

/// Leader elections of leader-mode partitions against a real etcd: one winner per epoch,
/// epochs that only grow, only ISR members elected, ISR changes fenced by the epoch.
@Suite struct PartitionElectionTests {
    static func election(_ etcd: EtcdProcess) throws -> PartitionElection {
        PartitionElection(etcd: try EtcdClient(endpoint: etcd.endpoint), metadata: try ClusterMetadata(cluster: "t"))
    }

    /// Waits up to 20 s for a fresh etcd to answer.
    static func ready(_ etcd: EtcdProcess) async throws -> EtcdClient {
        let client = try EtcdClient(endpoint: etcd.endpoint)
        let end = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < end {
            if (try? await client.range("/probe")) != nil { return client }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RingstoreError(.unavailable, "etcd did not answer")
    }

    @Test func oneWinnerPerEpochAndOnlyInSyncReplicasCampaign() async throws {
        let etcd = try EtcdProcess()
        let client = try await Self.ready(etcd)
        let election = try Self.election(etcd)
        let ks = try KeyspaceName(validating: "orders")
        let (n1, n2, n3) = (NodeID("n1"), NodeID("n2"), NodeID("n3"))
        try await election.initialize(ks, partition: 7, replicas: [n1, n2, n3])
        let leases = [try await client.grantLease(ttlSeconds: 60), try await client.grantLease(ttlSeconds: 60)]

        let first = try #require(try await election.campaign(ks, partition: 7, me: n1, lease: leases[0]))
        #expect(try await election.campaign(ks, partition: 7, me: n2, lease: leases[1]) == nil, "n1 leads")
        #expect(try await election.leaders(ks) == [7: .init(node: n1, epoch: first, lease: leases[0])])
        #expect(try await election.confirms(ks, partition: 7, me: n1, epoch: first))

        // n1 drops n3 from the ISR; n2 cannot change it.
        #expect(try await election.proposeInSync(ks, partition: 7, members: [n1, n2], epoch: first))
        #expect(try await !election.proposeInSync(ks, partition: 7, members: [n2], epoch: Epoch(first.value + 100)))

        // n1's lease ends: its key goes; n3, out of the ISR, cannot win; n2 can, in a later epoch.
        try await client.revoke(leases[0])
        let third = try await client.grantLease(ttlSeconds: 60)
        #expect(try await election.campaign(ks, partition: 7, me: n3, lease: third) == nil)
        let second = try #require(try await election.campaign(ks, partition: 7, me: n2, lease: leases[1]))
        #expect(second > first)
        #expect(try await !election.confirms(ks, partition: 7, me: n1, epoch: first))
        // The deposed leader's ISR change is refused.
        #expect(try await !election.proposeInSync(ks, partition: 7, members: [n1], epoch: first))
        let (isr, _) = try #require(try await election.inSync(ks, partition: 7))
        #expect(isr == .init(members: ["n1", "n2"], epoch: first.value))
    }
}
