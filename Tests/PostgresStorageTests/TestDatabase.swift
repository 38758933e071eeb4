import Foundation
import PostgresNIO
import PostgresStorage
import StoreTestSupport

/// Schemas of their own on the PostgreSQL that scripts/test starts (CURATOR_TEST_POSTGRES_URL):
/// `connections` connections whose search_path is a new, empty schema, dropped afterwards.
enum TestDatabase {
    static let logger = Logger(label: "curator.test")

    static func server() throws -> PostgresLocation { try TestPostgres.server() }

    static func withFreshSchema(connections count: Int = 1, migrated: Bool = false,
                                _ body: ([PostgresConnection], String) async throws -> Void) async throws {
        let location = try server()
        let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        var connections: [PostgresConnection] = []
        for _ in 0..<count { connections.append(try await PostgresProbe.connect(to: location, logger: logger)) }
        try await connections[0].query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        for connection in connections {
            try await connection.query(PostgresQuery(unsafeSQL: "SET search_path TO \(schema)"), logger: logger)
        }
        let outcome: Result<Void, any Error>
        do {
            if migrated { try await PostgresSchema.migrate(connections[0], logger: logger) }
            try await body(connections, schema)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        _ = try? await connections[0].query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
        for connection in connections { try? await connection.close() }
        try outcome.get()
    }
}
