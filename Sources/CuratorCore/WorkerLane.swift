import Foundation
import Synchronization

/// One thread of its own that runs blocking jobs one at a time, in the order they came.
///
/// Why: language-model encoding, SQLite writes and model swaps block for milliseconds to tens of
/// seconds. Run inside a request handler they held a thread of Swift's cooperative pool (two on
/// this machine) and, measured, `/healthz` got no answer for 70 s while 10,000 products were
/// encoded. On a lane they hold only that lane's thread; callers `await` the result, so the
/// event loops and the cooperative pool stay free for every other request.
///
/// Why serial: each lane's work is either one resource that allows one writer at a time (SQLite)
/// or one that is already parallel inside (the encoder uses every core for each call), so a
/// second thread per lane would only queue on a lock or fight over the same cores.
///
/// A lane's thread lives as long as the process: make lanes once (static or per server).
public final class WorkerLane: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let pending = DispatchSemaphore(value: 0)
    public let name: String

    public init(name: String) {
        self.name = name
        // The lane lives as long as the process (the server makes its lanes once), so the
        // thread may hold it strongly.
        let thread = Thread { [self] in
            while true {
                pending.wait()
                let job = jobs.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the lane and returns its result to the awaiting task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on the lane and blocks the calling thread until it is done. Only for code that
    /// already runs on another lane (never on an event loop or in an async task), and never from
    /// this lane itself, which would wait for itself.
    public func runAndWait<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        submit {
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        // Set before the signal, so it is there.
        guard let outcome = result.withLock({ $0 }) else { preconditionFailure("\(name): a job finished without a result") }
        return try outcome.get()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        pending.signal()
    }
}
