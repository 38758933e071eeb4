import Synchronization

/// Wakes one waiting task: rings that come while nobody waits are kept as one, so a waiter never
/// misses that something happened, and many rings cost one wake-up.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next ring, or at once if it rang since the last wait. One waiter at a time.
    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.rung {
                    state.rung = false
                    return true
                }
                precondition(state.waiter == nil, "a Doorbell has one waiter")
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
