import Foundation
import XCTest

/// What a test that cannot run throws. Locally a missing prerequisite (the model not fetched,
/// ../shared not mounted) is a skip, so a partial checkout still tests what it can. In CI
/// (`CURATOR_CI=1`, set by `.ci/run`) everything is installed on purpose, so a test that does not
/// run is a failure: a green build must mean the tests ran, not that they skipped.
public enum Prerequisite {
    /// True when the suite runs in CI, where skipping is not allowed.
    public static var inCI: Bool { ProcessInfo.processInfo.environment["CURATOR_CI"] == "1" }

    /// Use as `throw Prerequisite.missing("…")`: an `XCTSkip` locally, a `Missing` failure in CI.
    public static func missing(_ reason: String) -> any Error {
        inCI ? Missing(reason: reason) : XCTSkip(reason)
    }

    /// A prerequisite missing in CI; XCTest records the thrown error, with its reason, as the test's failure.
    public struct Missing: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "\(reason) (CURATOR_CI=1: in CI a test that cannot run fails)" }
    }
}

/// Thrown where skipping makes no sense (the binary the test target builds is missing, a fixture
/// kept in the repository is gone, a server under test did not start): always a failure, with why.
public struct SetupFailure: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
