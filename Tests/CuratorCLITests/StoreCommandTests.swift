import Foundation
import PostgresNIO
import PostgresStorage
import TestSupport
import XCTest

/// `curator store check` against the real PostgreSQL that scripts/test starts
/// (CURATOR_TEST_POSTGRES_URL); each test gets a database of its own.
final class StoreCommandTests: XCTestCase {
    private var folder: URL!
    private var server: PostgresLocation!
    private let logger = Logger(label: "curator.test")

    override func setUp() async throws {
        guard let url = ProcessInfo.processInfo.environment["CURATOR_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw Prerequisite.missing("no PostgreSQL: set CURATOR_TEST_POSTGRES_URL (scripts/postgres start DIR prints one)")
        }
        server = try PostgresLocation(url: url)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    /// A new, empty database on the test server, dropped at the end.
    private func withDatabase(_ body: (PostgresLocation) throws -> Void) async throws {
        let name = "cli_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try await PostgresProbe.connect(to: server, logger: logger)
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        var location = server!
        location.database = name
        let outcome = Result { try body(location) }
        try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
        try await admin.close()
        try outcome.get()
    }

    private func url(_ location: PostgresLocation, password: String? = nil) -> String {
        "postgres://\(location.username):\(password ?? location.password ?? "")@\(location.host):\(location.port)/\(location.database)"
    }

    func testCheckSaysWhatIsMissingAndMigrateAppliesItOnce() async throws {
        try await withDatabase { location in
            let store = url(location)
            let before = try CLI.run(["store", "check", "--store", store], in: folder)
            XCTAssertEqual(before.status, 0, before.stderr)
            XCTAssertTrue(before.stdout.contains(": PostgreSQL 1"), before.stdout)
            XCTAssertTrue(before.stdout.contains("migrations missing: v1, v2, shopper-last-seen"), before.stdout)
            XCTAssertFalse(before.stdout.contains(location.password ?? "\u{0}"), "the password was printed: \(before.stdout)")

            let migrated = try CLI.run(["store", "check", "--migrate"], in: folder, environment: ["CURATOR_STORE": store])
            XCTAssertEqual(migrated.status, 0, migrated.stderr)
            XCTAssertTrue(migrated.stdout.contains("migrations applied now: v1, v2, shopper-last-seen"), migrated.stdout)
            let again = try CLI.run(["store", "check", "--migrate", "--store", store], in: folder)
            XCTAssertTrue(again.stdout.contains("migrations: all 3 already applied"), again.stdout)
            let after = try CLI.run(["store", "check", "--store", store], in: folder)
            XCTAssertTrue(after.stdout.contains("migrations: all 3 applied"), after.stdout)
        }
    }

    func testAWrongPasswordIsOneLineAndExitStatus1() throws {
        let result = try CLI.run(["store", "check", "--store", url(server, password: "wrong-password-123")], in: folder)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "curator: error: configuration: PostgreSQL at \(server.host):\(server.port) refused user '\(server.username)': wrong password\n")
        XCTAssertFalse(result.stderr.contains("wrong-password-123"))
    }

    func testOtherCommandsRefuseAPostgresStoreInsteadOfMakingAFileOfThatName() throws {
        for command in [["stats"], ["serve", "--port", "0"]] {
            let result = try CLI.run(command + ["--store", url(server)], in: folder)
            XCTAssertNotEqual(result.status, 0, "\(command) accepted a PostgreSQL store")
            XCTAssertTrue(result.stderr.contains("does not run on a PostgreSQL store yet"), result.stderr)
            XCTAssertFalse(result.stderr.contains(server.password ?? "\u{0}"), result.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "a file appeared in the working folder")
    }
}
