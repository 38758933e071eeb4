import CuratorCore
import PostgresStorage
import Synchronization
import XCTest

/// A call with a deadline returns when the deadline passes, whatever its work does: a query on a
/// connection to a server that died may not end on cancellation, and a request must not wait for it.
final class DeadlineTests: XCTestCase {
    func testTheDeadlineBoundsTheWaitEvenWhenTheWorkIgnoresCancellation() async throws {
        let bell = Doorbell()  // its wait ignores cancellation, as a hung query may
        let workEnded = Mutex(false), timedOut = Mutex(false)
        do {
            let hung: @Sendable () async throws -> Int = {
                await bell.wait()
                workEnded.withLock { $0 = true }
                return 1
            }
            _ = try await PostgresStore.withinDeadline(.milliseconds(200), unavailable: StoreUnavailable("no answer"),
                                                       onTimeout: { timedOut.withLock { $0 = true } }, hung)
            XCTFail("the call should have ended at its deadline")
        } catch let error as StoreUnavailable {
            XCTAssertEqual(error.reason, "no answer")
        }
        XCTAssertFalse(workEnded.withLock { $0 }, "the caller got its answer while the work was still running")
        XCTAssertTrue(timedOut.withLock { $0 }, "the deadline's clean-up (closing the connection) ran")
        bell.ring()
    }

    func testAnAnswerBeforeTheDeadlineIsTheAnswer() async throws {
        let value = try await PostgresStore.withinDeadline(.seconds(60), unavailable: StoreUnavailable("no answer")) { 42 }
        XCTAssertEqual(value, 42)
        do {
            _ = try await PostgresStore.withinDeadline(.seconds(60), unavailable: StoreUnavailable("no answer")) { () async throws -> Int in
                throw CuratorError.storage("refused")
            }
            XCTFail("the work's error should reach the caller")
        } catch let error as CuratorError {
            XCTAssertEqual(error, .storage("refused"))
        }
    }
}
