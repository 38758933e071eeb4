import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// Product writes into a PostgreSQL store, with the SQLite store's rules (`CuratorStore.upsertProducts`,
/// `deleteProduct`): text cleaned as on import, a deleted product brought back by an upsert, one
/// transaction per call.
public enum PostgresCatalogue {
    /// Creates or replaces products; returns them as stored, with their row ids, in the order given.
    public static func upsert(_ products: [Product], on connection: PostgresConnection, logger: Logger) async throws -> [(rowID: Int64, product: Product)] {
        guard !products.isEmpty else { return [] }
        do {
            return try await connection.withTransaction(logger: logger) { connection in
                try await upsertInTransaction(products, on: connection, logger: logger)
            }
        } catch {
            throw CuratorError.storage("PostgreSQL: storing \(products.count) products: \(PostgresProbe.serverMessage(error))")
        }
    }

    /// The upsert inside the caller's transaction.
    static func upsertInTransaction(_ products: [Product], on connection: PostgresConnection, logger: Logger) async throws -> [(rowID: Int64, product: Product)] {
        let cleaned = products.map { $0.cleanedForStore() }
        let now = Timestamps.nowMillis()
        var rowIDs: [String: Int64] = [:]
        // One statement per product: a batch may name a product twice, and the later one wins,
        // as it does for SQLite (one INSERT … ON CONFLICT cannot touch a row twice).
        for product in cleaned {
            let rows = try await connection.query("""
                INSERT INTO products(product_key, title, description, brand, category, price, in_stock, deleted, updated_at)
                VALUES (\(product.id), \(product.title), \(product.description), \(product.brand), \(product.category),
                        \(product.price), \(product.inStock), FALSE, \(now))
                ON CONFLICT (product_key) DO UPDATE SET title = excluded.title, description = excluded.description,
                    brand = excluded.brand, category = excluded.category, price = excluded.price,
                    in_stock = excluded.in_stock, deleted = FALSE, updated_at = GREATEST(excluded.updated_at, products.updated_at + 1)
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { rowIDs[product.id] = id }
        }
        return cleaned.map { (rowIDs[$0.id] ?? 0, $0) }
    }

    /// Takes a product out of the catalogue; its events stay as history. False when unknown or already deleted.
    public static func delete(id: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        do {
            return try await deleteInTransaction(id: id, on: connection, logger: logger)
        } catch {
            throw CuratorError.storage("PostgreSQL: deleting product '\(id)': \(PostgresProbe.serverMessage(error))")
        }
    }

    /// The delete as one statement of the caller's transaction.
    static func deleteInTransaction(id: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let now = Timestamps.nowMillis()
        var deleted = false
        for try await _ in try await connection.query("""
            UPDATE products SET deleted = TRUE, updated_at = GREATEST(\(now), updated_at + 1) WHERE product_key = \(TextCleaning.identifier(id)) AND NOT deleted
            RETURNING id
            """, logger: logger) {
            deleted = true
        }
        return deleted
    }
}
