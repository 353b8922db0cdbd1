import RingstoreCore

/// What a leader-mode partition replica's state machine asks its shell to do. The shell
/// performs the actions in order and reports back through the machine's events.
public enum LeaderReplicaAction: Sendable, Equatable {
    /// Append these entries to the log (they follow its end), then report `appended`.
    case append([LeaderEntry])
    /// Cut the log after this sequence (durably), then report `truncated`.
    case truncate(after: UInt64)
    /// Send this fetch to the leader; report its answer (or failure) with `number`.
    case sendFetch(number: UInt64, to: NodeID, FetchRequest)
    /// Answer the peer's fetch `request` with this reply and its entries.
    case answerFetch(ReplicaRequestID, FetchReply, [LeaderEntry])
    /// Write the ISR to etcd in a transaction guarded by `epoch`, then report `inSyncAnswered`.
    case proposeInSync(Set<NodeID>, epoch: Epoch)
    /// Ask etcd (a linearizable read) whether this node still leads in `epoch`, then
    /// report `leadershipConfirmed`.
    case confirmLeadership(epoch: Epoch)
    /// Answer a client's write.
    case completeWrite(ReplicaRequestID, LeaderWriteOutcome)
    /// Answer a client's read.
    case completeRead(ReplicaRequestID, Result<LeaderRead, LeaderReadFailure>)
    /// Call `tick` at this instant (or soon after). A later request replaces an earlier
    /// one only when it is sooner; a tick that comes when nothing is due does no harm.
    case scheduleTick(at: UInt64)
    /// The replica began leading `epoch` (leader: itself) or stopped leading (leader nil).
    case roleChanged(leader: NodeID?, epoch: Epoch)
    /// The replica cut entries from its log's tail (report them: they are lost).
    case logCut(LeaderLogCut)
    /// Apply these committed entries to the partition's state (a value sets its key, a
    /// delete removes it, an epoch start changes nothing), then store `mark` after them,
    /// durably, and report `applied(through:)` with the mark's sequence.
    case apply([LeaderEntry], PartitionStateMark)
    /// Remove the log's entries up to this sequence (they are applied; no report).
    case trimLog(through: UInt64)
    /// Send this snapshot request to the leader; report its answer (or failure) with `number`.
    case sendSnapshotRequest(number: UInt64, to: NodeID, SnapshotRequest)
    /// Answer the peer's snapshot request.
    case answerSnapshot(ReplicaRequestID, SnapshotReply)
    /// Store `mark` (half-installed), then remove every log entry and state key (no report;
    /// what follows is ordered after it).
    case wipeState(PartitionStateMark)
    /// Store these snapshot items in the state, then report `snapshotPartStored`.
    case storeSnapshotPart([PartitionStateItem])
    /// Store `mark` (the install is complete), then report `snapshotInstalled`.
    case finishInstall(PartitionStateMark)
}
