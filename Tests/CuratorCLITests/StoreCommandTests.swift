import Foundation
import PostgresNIO
import PostgresStorage
import StoreTestSupport
import TestSupport
import XCTest

/// `curator store check` against the real PostgreSQL that scripts/test starts
/// (CURATOR_TEST_POSTGRES_URL); each test gets a database of its own.
final class StoreCommandTests: XCTestCase {
    private var folder: URL!
    private var server: PostgresLocation!
    private let logger = Logger(label: "curator.test")

    override func setUp() async throws {
        server = try TestPostgres.server()
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
        var location = location
        if let password { location.password = password }
        return location.connectionURL
    }

    func testCheckSaysWhatIsMissingAndMigrateAppliesItOnce() async throws {
        try await withDatabase { location in
            let store = url(location)
            let before = try CLI.run(["store", "check", "--store", store], in: folder)
            XCTAssertEqual(before.status, 0, before.stderr)
            XCTAssertTrue(before.stdout.contains(": PostgreSQL 1"), before.stdout)
            XCTAssertTrue(before.stdout.contains("migrations missing: v1, v2, shopper-last-seen, change-log, online-log, shopper-privacy, merchandising-rules"), before.stdout)
            XCTAssertFalse(before.stdout.contains(location.password ?? "\u{0}"), "the password was printed: \(before.stdout)")

            let migrated = try CLI.run(["store", "check", "--migrate"], in: folder, environment: ["CURATOR_STORE": store])
            XCTAssertEqual(migrated.status, 0, migrated.stderr)
            XCTAssertTrue(migrated.stdout.contains("migrations applied now: v1, v2, shopper-last-seen, change-log, online-log, shopper-privacy, merchandising-rules"), migrated.stdout)
            let again = try CLI.run(["store", "check", "--migrate", "--store", store], in: folder)
            XCTAssertTrue(again.stdout.contains("migrations: all 7 already applied"), again.stdout)
            let after = try CLI.run(["store", "check", "--store", store], in: folder)
            XCTAssertTrue(after.stdout.contains("migrations: all 7 applied"), after.stdout)
        }
    }

    func testAWrongPasswordIsOneLineAndExitStatus1() throws {
        let result = try CLI.run(["store", "check", "--store", url(server, password: "wrong-password-123")], in: folder)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "curator: error: configuration: PostgreSQL at \(server.host):\(server.port) refused user '\(server.username)': wrong password\n")
        XCTAssertFalse(result.stderr.contains("wrong-password-123"))
    }

    /// The quick start's commands, each on a PostgreSQL store, answering as on SQLite.
    func testEveryCommandRunsOnPostgreSQLAndAnswersAsOnSQLite() async throws {
        let miniLM = ChineseShopTests.repoRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: miniLM) else { throw SetupFailure("all-MiniLM-L6-v2 is missing (\(miniLM)): run curator models fetch all") }
        try await withDatabase { location in
            let postgres = url(location)
            let environment = ["CURATOR_MODEL": miniLM]
            func run(_ arguments: [String], store: String) throws -> CLI.Result {
                let result = try CLI.run(arguments + ["--store", store], in: folder, environment: environment)
                XCTAssertEqual(result.status, 0, "\(arguments) on \(store == postgres ? "PostgreSQL" : "SQLite"): \(result.stderr)")
                XCTAssertFalse(result.stdout.contains(server.password ?? "\u{0}") || result.stderr.contains(server.password ?? "\u{0}"),
                               "the password was printed")
                return result
            }
            XCTAssertEqual(try CLI.run(["sample", "--out", "shop", "--products", "150", "--shoppers", "60", "--seed", "5"], in: folder).status, 0)
            let sqlite = folder.appendingPathComponent("shop.sqlite").path
            for store in [sqlite, postgres] {
                let products = try run(["import", "products", "shop/products.csv"], store: store)
                XCTAssertTrue(products.stdout.contains("150 rows, 150 new"), products.stdout)
                let events = try run(["import", "events", "shop/events.csv"], store: store)
                XCTAssertTrue(events.stdout.contains("60 new shoppers"), events.stdout)
                let again = try run(["import", "events", "shop/events.csv"], store: store)
                XCTAssertTrue(again.stdout.contains(" 0 new, "), "identical events count once: \(again.stdout)")
                _ = try run(["embed", "--quiet"], store: store)
                _ = try run(["split"], store: store)
            }
            XCTAssertEqual(try run(["stats", "--json"], store: postgres).stdout, try run(["stats", "--json"], store: sqlite).stdout)
            // Same events, same split, same vectors: the same evaluation and the same recommendations.
            let evaluate = ["evaluate", "--model", "itemknn", "--json"]
            XCTAssertEqual(try run(evaluate, store: postgres).stdout, try run(evaluate, store: sqlite).stdout)
            let recommend = ["recommend", "--shopper", "S00003", "--k", "5", "--json"]
            XCTAssertEqual(try run(recommend, store: postgres).stdout, try run(recommend, store: sqlite).stdout)
            // A model trained and saved in PostgreSQL serves from it.
            _ = try run(["train", "--model", "sequential", "--epochs", "2"], store: postgres)
            let trained = try run(recommend, store: postgres).stdout
            XCTAssertTrue(trained.contains("\"model\":\"sequential\""), trained)
            let listed = try run(["models", "list"], store: postgres).stdout
            XCTAssertTrue(listed.contains("sequential  1"), listed)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                           ["shop", "shop.sqlite", "shop.sqlite-shm", "shop.sqlite-wal"].filter {
                               FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
                           }, "a PostgreSQL store made no file in the working folder")
        }
    }

    /// SQLite → PostgreSQL → SQLite: the same statistics and the same recommendations from the
    /// trained model at every step; a target holding data is refused.
    func testStoreCopyRoundTripKeepsStatisticsAndRecommendations() async throws {
        let miniLM = ChineseShopTests.repoRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: miniLM) else { throw SetupFailure("all-MiniLM-L6-v2 is missing (\(miniLM)): run curator models fetch all") }
        try await withDatabase { location in
            let postgres = url(location)
            let environment = ["CURATOR_MODEL": miniLM]
            func run(_ arguments: [String]) throws -> CLI.Result {
                let result = try CLI.run(arguments, in: folder, environment: environment)
                XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
                return result
            }
            _ = try run(["sample", "--out", "shop", "--products", "120", "--shoppers", "50", "--seed", "9"])
            for step in [["import", "products", "shop/products.csv"], ["import", "events", "shop/events.csv"], ["embed", "--quiet"], ["split"],
                         ["train", "--model", "sequential", "--epochs", "2"]] {
                _ = try run(step + ["--store", "a.sqlite"])
            }
            _ = try run(["store", "copy", "--from", "a.sqlite", "--to", postgres])
            _ = try run(["store", "copy", "--from", postgres, "--to", "b.sqlite"])
            let recommend = ["recommend", "--shopper", "S00004", "--k", "5", "--json", "--store"]
            let original = (try run(["stats", "--json", "--store", "a.sqlite"]).stdout, try run(recommend + ["a.sqlite"]).stdout)
            XCTAssertTrue(original.1.contains("\"model\":\"sequential\""), original.1)
            for store in [postgres, "b.sqlite"] {
                XCTAssertEqual(try run(["stats", "--json", "--store", store]).stdout, original.0, "stats after copying to \(store)")
                XCTAssertEqual(try run(recommend + [store]).stdout, original.1, "recommendations after copying to \(store)")
            }
            let again = try CLI.run(["store", "copy", "--from", "a.sqlite", "--to", postgres], in: folder, environment: environment)
            XCTAssertEqual(again.status, 1)
            XCTAssertTrue(again.stderr.contains("already holds data; copy into a new, empty store"), again.stderr)
        }
    }

    /// A wrong password is the same one line and exit status 1 for every command, before any work.
    func testEveryCommandReportsAWrongPasswordInOneLine() throws {
        let wrong = url(server, password: "wrong-password-123")
        let expected = "curator: error: configuration: PostgreSQL at \(server.host):\(server.port) refused user '\(server.username)': wrong password\n"
        for command in [["stats"], ["import", "events", "none.csv"], ["split"], ["embed"], ["train", "--model", "sequential"], ["evaluate"],
                        ["recommend", "--shopper", "S1"], ["models", "list"], ["serve", "--port", "0"], ["secret", "remove"]] {
            let result = try CLI.run(command + ["--store", wrong], in: folder)
            XCTAssertEqual(result.status, 1, "\(command)")
            XCTAssertEqual(result.stderr, expected, "\(command)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "a file appeared in the working folder")
    }
}
