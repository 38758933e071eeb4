import Foundation
import PostgresNIO
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport

/// Which store a contract test is running on.
public enum StoreBackend: String, Sendable {
    case sqlite, postgres
}

/// A fresh, empty store for one run of a contract test, and how to open it again.
public struct TestStore: Sendable {
    public let store: any CuratorStoring
    public let backend: StoreBackend
    /// What `--store` takes for it: the SQLite file or the PostgreSQL URL (with its schema).
    public let spec: String
    /// Opens the same store again (a restarted process, another replica), with `secret`.
    public let reopen: @Sendable (PseudonymSecretSource) async throws -> any CuratorStoring
}

/// Runs `body` on a new SQLite store, then on a new PostgreSQL store (a schema of its own on the
/// server scripts/test starts, `CURATOR_TEST_POSTGRES_URL`, dropped afterwards): one test, both
/// stores. Without that server the SQLite run still happens and the PostgreSQL one is a skip
/// locally, a failure in CI.
public func eachStore(secret: PseudonymSecretSource = .environment, _ body: (TestStore) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("store.sqlite").path
    try await body(TestStore(store: try SQLiteStore(path: path, secret: secret), backend: .sqlite, spec: path,
                             reopen: { try SQLiteStore(path: path, secret: $0) }))
    try await withPostgresSchema { location in
        let store = try await PostgresStore.open(location, secret: secret)
        defer { store.close() }
        try await body(TestStore(store: store, backend: .postgres, spec: location.connectionURL,
                                 reopen: { try await PostgresStore.open(location, secret: $0) }))
    }
}

/// The PostgreSQL server of the test run.
public enum TestPostgres {
    public static func server() throws -> PostgresLocation {
        guard let url = ProcessInfo.processInfo.environment["CURATOR_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw Prerequisite.missing("no PostgreSQL: set CURATOR_TEST_POSTGRES_URL (scripts/postgres start DIR prints one)")
        }
        return try PostgresLocation(url: url)
    }
}

/// `body` with the test server's location narrowed to a new schema, dropped afterwards.
public func withPostgresSchema(_ body: (PostgresLocation) async throws -> Void) async throws {
    var location = try TestPostgres.server()
    location.schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let outcome: Result<Void, any Error>
    do {
        try await body(location)
        outcome = .success(())
    } catch {
        outcome = .failure(error)
    }
    let logger = Logger(label: "curator.test")
    var admin = location
    admin.schema = nil
    if let connection = try? await PostgresProbe.connect(to: admin, logger: logger) {
        _ = try? await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(location.schema!) CASCADE"), logger: logger)
        try? await connection.close()
    }
    try outcome.get()
}
