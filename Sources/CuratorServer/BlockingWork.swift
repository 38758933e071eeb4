import Foundation
import Synchronization

/// One thread of the server's own that runs blocking jobs one at a time, in the order they came.
///
/// Why: language-model encoding, SQLite writes and model swaps block for milliseconds to tens of
/// seconds. Run inside a request handler they held a thread of Swift's cooperative pool (two on
/// this machine) and, measured, `/healthz` got no answer for 70 s while 10,000 products were
/// encoded. On a lane they hold only that lane's thread; handlers `await` the result, so the
/// event loops and the cooperative pool stay free for every other request.
///
/// Why serial: each lane's work is either one resource that allows one writer at a time (SQLite)
/// or one that is already parallel inside (the encoder uses every core for each call), so a
/// second thread per lane would only queue on a lock or fight over the same cores.
final class WorkerLane: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let pending = DispatchSemaphore(value: 0)
    let name: String

    init(name: String) {
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
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on the lane and blocks the calling thread until it is done. Only for code that
    /// already runs on another lane (never on an event loop or in an async task), and never from
    /// this lane itself, which would wait for itself.
    func runAndWait<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
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

/// The server's blocking work, by kind. Each kind has its own lane so that a long job of one
/// kind (a 10,000-product upsert, a model swap) never delays the short jobs of another (an
/// event batch, a search query).
struct BlockingWork: Sendable {
    /// Language-model encoding: search queries, and product texts in chunks of
    /// `encodingChunk`, so a search waits for at most one chunk of a large upsert.
    let encoder = WorkerLane(name: "curator-encoder")
    /// Product upserts and deletes, each whole (store write, encoding through `encoder`, index),
    /// so two writes to one product reach the store and the live catalogue in the same order.
    let catalogue = WorkerLane(name: "curator-catalogue-writes")
    /// Event batches: the SQLite transaction and the popularity update.
    let events = WorkerLane(name: "curator-event-writes")
    /// Model swaps, from the poll and from `POST /v1/models/reload`.
    let models = WorkerLane(name: "curator-model-swaps")

    /// Products per encoding job: about half a second of encoding on two cores.
    static let encodingChunk = 256
}
