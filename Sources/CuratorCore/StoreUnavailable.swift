/// The store cannot be reached now (a shared database restarting, a network cut, no answer
/// within the deadline). Nothing of the call was stored, or its commit is uncertain, so a client
/// may send it again: event batches and product writes are idempotent. A server answers 503 with
/// Retry-After and keeps serving what it holds in memory.
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "the store is unavailable: \(reason)" }
}
