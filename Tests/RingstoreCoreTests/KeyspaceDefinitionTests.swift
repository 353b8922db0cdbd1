import Foundation
import RingstoreCore
import Testing

/// Keyspace definitions: defaults per mode and what validation refuses.
@Suite struct KeyspaceDefinitionTests {
    let name = try! KeyspaceName(validating: "orders")

    @Test func aLeaderKeyspaceDefaultsToAckAllAndTwoInSyncReplicas() throws {
        let keyspace = KeyspaceRequest(mode: .leader).keyspace(named: name, nodeCount: 5)
        #expect(keyspace.replicationFactor == 3)
        #expect(keyspace.minInSync == 2)
        #expect(keyspace.ack == .all)
        try keyspace.validate(nodeCount: 5)
        let single = KeyspaceRequest(mode: .leader, replicationFactor: 1).keyspace(named: name, nodeCount: 5)
        #expect(single.minInSync == 1)
        try single.validate(nodeCount: 5)
    }

    @Test func aLeaderlessKeyspaceHasNoLeaderFields() throws {
        let keyspace = KeyspaceRequest().keyspace(named: name, nodeCount: 3)
        #expect(keyspace.minInSync == nil && keyspace.ack == nil)
        let json = String(decoding: try JSONEncoder().encode(keyspace), as: UTF8.self)
        #expect(!json.contains("min_in_sync") && !json.contains("ack"))
        try keyspace.validate(nodeCount: 3)
    }

    @Test(arguments: [
        (KeyspaceRequest(mode: .leader, minInSync: 4), "min_in_sync must be from 1"),
        (KeyspaceRequest(mode: .leader, minInSync: 0), "min_in_sync must be from 1"),
        (KeyspaceRequest(mode: .leader, sloppy: true), "sloppy applies to mode 'leaderless'"),
        (KeyspaceRequest(minInSync: 2), "apply to mode 'leader' only"),
        (KeyspaceRequest(ack: .leader), "apply to mode 'leader' only"),
    ])
    func invalidDefinitionsAreRefusedWithAReason(request: KeyspaceRequest, reason: String) {
        let keyspace = request.keyspace(named: name, nodeCount: 3)
        #expect {
            try keyspace.validate(nodeCount: 3)
        } throws: { error in
            (error as? RingstoreError)?.code == .invalidKeyspaceDefinition
                && (error as? RingstoreError)?.detail.contains(reason) == true
        }
    }

    @Test func aLeaderKeyspaceRoundTripsThroughJSON() throws {
        let keyspace = KeyspaceRequest(mode: .leader, minInSync: 3, ack: .leader).keyspace(named: name, nodeCount: 3)
        let decoded = try JSONDecoder().decode(Keyspace.self, from: try JSONEncoder().encode(keyspace))
        #expect(decoded == keyspace)
        let request = try JSONDecoder().decode(
            KeyspaceRequest.self, from: Data(#"{"mode":"leader","min_in_sync":1,"ack":"leader"}"#.utf8))
        #expect(request.minInSync == 1 && request.ack == .leader)
    }
}
