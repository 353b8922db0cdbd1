/// HTTP header names of the client API, shared by the server, the client and the CLI.
public enum HeaderNames {
    /// The opaque causal context: returned by reads and writes, sent back with the next write.
    public static let context = "X-Ringstore-Context"
    /// The version of the value, human-readable (`millis.logical@node`).
    public static let version = "X-Ringstore-Version"
    /// Replicas that answered (read) or durably accepted (write).
    public static let replicas = "X-Ringstore-Replicas"
    /// The names of the replicas that answered or accepted, comma-separated.
    public static let replicaNames = "X-Ringstore-Replica-Names"
    /// Replicas the request's consistency level required.
    public static let required = "X-Ringstore-Required"
    /// The node that coordinated the request.
    public static let coordinator = "X-Ringstore-Coordinator"
    /// Owners whose copy of a write a fallback keeps as a hint (sloppy quorum).
    public static let hinted = "X-Ringstore-Hinted"
    /// Leader mode: the partition leader that acknowledged a write.
    public static let leader = "X-Ringstore-Leader"
}
