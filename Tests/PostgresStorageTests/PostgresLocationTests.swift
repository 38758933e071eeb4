import CuratorCore
import PostgresStorage
import XCTest

final class PostgresLocationTests: XCTestCase {
    func testAFullURLGivesEveryPartAndPrintsWithoutThePassword() throws {
        let location = try PostgresLocation(url: "postgres://shop:s3cr%40t@db.internal:6543/curator?sslmode=require")
        XCTAssertEqual(location, PostgresLocation(host: "db.internal", port: 6543, username: "shop", password: "s3cr@t",
                                                  database: "curator", tls: .require))
        XCTAssertEqual(location.description, "postgres://shop:•••@db.internal:6543/curator?sslmode=require")
        XCTAssertFalse("\(location)".contains("s3cr"))
    }

    func testDefaultsArePort5432AndPreferredTLS() throws {
        let location = try PostgresLocation(url: "postgresql://shop@127.0.0.1/curator")
        XCTAssertEqual(location.port, 5432)
        XCTAssertEqual(location.tls, .prefer)
        XCTAssertNil(location.password)
        XCTAssertEqual(location.description, "postgres://shop@127.0.0.1:5432/curator")
    }

    func testIPv6HostsLoseTheirBracketsForConnectingOnly() throws {
        let location = try PostgresLocation(url: "postgres://shop:pw@[::1]:5433/curator")
        XCTAssertEqual(location.host, "::1")
        XCTAssertEqual(location.description, "postgres://shop:•••@[::1]:5433/curator")
    }

    func testEachMistakeIsOneErrorThatSaysWhatAndNeverShowsThePassword() {
        let cases: [(String, String)] = [
            ("postgres://shop:hunter2@:5432/curator", "no host"),
            ("postgres://:hunter2@db/curator", "no user name"),
            ("postgres://shop:hunter2@db", "give the database as the path"),
            ("postgres://shop:hunter2@db/curator?sslmode=maybe", "sslmode must be one of disable, prefer, require"),
            ("postgres://shop:hunter2@db/curator?timeout=3", "unknown parameter 'timeout'"),
            ("mysql://shop:hunter2@db/curator", "is not a PostgreSQL URL"),
        ]
        for (url, expected) in cases {
            XCTAssertThrowsError(try PostgresLocation(url: url), url) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected), "\(url): \(message)")
                XCTAssertFalse(message.contains("hunter2"), "\(url) leaked its password: \(message)")
            }
        }
    }

    func testOnlyPostgresSchemesCountAsPostgresURLs() {
        XCTAssertTrue(PostgresLocation.isPostgresURL("postgres://a@b/c"))
        XCTAssertTrue(PostgresLocation.isPostgresURL("POSTGRESQL://a@b/c"))
        XCTAssertFalse(PostgresLocation.isPostgresURL("./postgres.sqlite"))
        XCTAssertFalse(PostgresLocation.isPostgresURL("sample/curator.sqlite"))
    }
}
