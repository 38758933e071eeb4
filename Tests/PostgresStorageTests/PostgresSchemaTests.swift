import CuratorCore
import Foundation
import PostgresNIO
import PostgresStorage
import TestSupport
import XCTest

/// The migrations on a real PostgreSQL (CURATOR_TEST_POSTGRES_URL, started by scripts/test), each
/// test in a schema of its own (`TestDatabase`).
final class PostgresSchemaTests: XCTestCase {
    private let logger = Logger(label: "curator.test")

    private func withFreshSchema(_ body: (PostgresConnection, String) async throws -> Void) async throws {
        try await TestDatabase.withFreshSchema { connections, schema in try await body(connections[0], schema) }
    }

    private func strings(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [String] {
        var out: [String] = []
        for try await value in try await connection.query(query, logger: logger).decode(String.self) { out.append(value) }
        return out
    }

    func testAFreshDatabaseGetsEveryTableOfTheSQLiteStoreOnce() async throws {
        try await withFreshSchema { connection, schema in
            let applied = try await PostgresSchema.migrate(connection, logger: logger)
            XCTAssertEqual(applied, ["v1", "v2", "shopper-last-seen", "change-log", "online-log", "shopper-privacy", "merchandising-rules"])
            let tables = try await strings(connection, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(schema) ORDER BY 1")
            XCTAssertEqual(tables, ["attributed_events", "change_log", "embeddings", "evaluations", "events", "experiments", "merchandising_rules", "products",
                                    "schema_migrations", "seen_items", "served_lists", "shopper_preferences", "shoppers", "split_events", "splits", "store_clock",
                                    "store_meta", "trained_models"])
            let again = try await PostgresSchema.migrate(connection, logger: logger)
            XCTAssertEqual(again, [], "a second start applies nothing")
        }
    }

    func testAnEventIdenticalInEveryColumnIsStoredOnceEvenWithoutQuantityOrPrice() async throws {
        try await withFreshSchema { connection, _ in
            try await PostgresSchema.migrate(connection, logger: logger)
            try await connection.query("INSERT INTO products(id, product_key, updated_at) VALUES (1, 'P1', 0)", logger: logger)
            try await connection.query("INSERT INTO shoppers(id, shopper_key, created_at) VALUES (1, '~s', 0)", logger: logger)
            for _ in 0..<2 {
                try await connection.query("INSERT INTO events(shopper_id, product_id, type, ts) VALUES (1, 1, 0, 42) ON CONFLICT DO NOTHING",
                                           logger: logger)
                try await connection.query("INSERT INTO events(shopper_id, product_id, type, ts, quantity, price) VALUES (1, 1, 4, 42, 2, '9.90') ON CONFLICT DO NOTHING",
                                           logger: logger)
            }
            var count = 0
            for try await n in try await connection.query("SELECT count(*) FROM events", logger: logger).decode(Int.self) { count = n }
            XCTAssertEqual(count, 2)
        }
    }

    func testTwoReplicasStartingTogetherApplyEachMigrationOnce() async throws {
        try await TestDatabase.withFreshSchema(connections: 2) { connections, _ in
            let logger = self.logger
            async let a = PostgresSchema.migrate(connections[0], logger: logger)
            async let b = PostgresSchema.migrate(connections[1], logger: logger)
            let (fromA, fromB) = try await (a, b)
            XCTAssertEqual((fromA + fromB).sorted(), ["change-log", "merchandising-rules", "online-log", "shopper-last-seen", "shopper-privacy", "v1", "v2"], "A applied \(fromA), B applied \(fromB)")
        }
    }
}
