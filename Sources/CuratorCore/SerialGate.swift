import Synchronization

/// Lets async jobs through one at a time, in the order they arrived, across their suspension
/// points (an actor would interleave them at every `await`).
///
/// Why: a product upsert is a store write, then encoding, then the live catalogue; two writes to
/// one product must reach the store and the catalogue in the same order.
public final class SerialGate: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Runs `body` once every job that arrived before it is done.
    public func run<T>(_ body: () async throws -> T) async rethrows -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let free = state.withLock { state in
                if state.busy { state.waiting.append(continuation); return false }
                state.busy = true
                return true
            }
            if free { continuation.resume() }
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else { state.busy = false; return nil }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
