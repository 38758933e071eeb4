import Foundation
import Synchronization

/// One blocking job on a thread of its own, started at once and joined later: for work at start
/// (reading and mapping files for seconds) that should overlap other work instead of holding a
/// thread of Swift's cooperative pool. The thread ends with the job.
public final class ThreadJob<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, any Error>?
        var waiters: [CheckedContinuation<Value, any Error>] = []
    }

    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    public init(name: String, _ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let result = Result { try body() }
            let waiters = state.withLock { state in
                state.result = result
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(with: result) }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// The job's result, awaited without blocking a thread.
    public var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<Value, any Error>? = state.withLock { state in
                    if let result = state.result { return result }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }

    /// The job's result, blocking the calling thread until it is there (from other blocking work only).
    public func wait() throws -> Value {
        finished.wait()
        finished.signal()
        guard let result = state.withLock({ $0.result }) else { preconditionFailure("a finished job has a result") }
        return try result.get()
    }
}
