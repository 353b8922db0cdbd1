/// One operation on a single-key register as a client saw it: what it asked, what it
/// got, when it called and when the answer came back.
///
/// Values are strings and each write should store a value no other write stores, so a
/// read names the write it saw. `nil` is the register's initial "not found".
public struct RegisterOperation: Sendable, Hashable, Codable {
    /// What the operation did.
    public enum Action: Sendable, Hashable, Codable {
        /// A write of `value` (a delete writes nil).
        case write(String?)
        /// A read that returned `value` (nil: not found).
        case read(String?)
        /// A conditional write: store `new` if the register holds `expected` (If-Match
        /// with the version a read returned; `expected` nil is If-None-Match: *).
        /// `succeeded` nil when the outcome is unknown.
        case compareAndSet(expected: String?, new: String?, succeeded: Bool?)
    }

    /// Which client (connection) issued it; a client's operations never overlap.
    public var client: Int
    public var action: Action
    /// When it was called, in any monotonic unit shared by the history.
    public var call: Int64
    /// When its answer arrived; nil when it never did (timeout, connection lost, 503 on
    /// a write): the operation may have taken effect at any time after its call, or not
    /// at all.
    public var returned: Int64?

    public init(client: Int, action: Action, call: Int64, returned: Int64?) {
        self.client = client
        self.action = action
        self.call = call
        self.returned = returned
    }
}
