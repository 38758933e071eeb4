import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// The reads a server makes of a PostgreSQL store, answering as the SQLite store's do
/// (`CuratorStore.product(id:)`, `allProducts`, `events(forShopID:newest:)`, `productEventCounts`).
public enum PostgresQueries {
    public static func product(id: String, on connection: PostgresConnection, logger: Logger) async throws -> Product? {
        try await products(where: "product_key = \(TextCleaning.identifier(id)) AND NOT deleted", on: connection, logger: logger).first?.product
    }

    /// Every live product with its row id, in row-id order.
    public static func allProducts(on connection: PostgresConnection, logger: Logger) async throws -> [(rowID: Int64, product: Product)] {
        try await products(where: "NOT deleted", on: connection, logger: logger)
    }

    /// The live products among `keys`, with their row ids, in row-id order.
    public static func products(keys: [String], on connection: PostgresConnection, logger: Logger) async throws -> [(rowID: Int64, product: Product)] {
        try await products(where: "product_key = ANY(\(keys)) AND NOT deleted", on: connection, logger: logger)
    }

    public static func products(rowIDs: [Int64], on connection: PostgresConnection,
                                logger: Logger) async throws -> [(rowID: Int64, product: Product, version: Int64)] {
        try await run("reading products") {
            var out: [(rowID: Int64, product: Product, version: Int64)] = []
            for try await (id, key, title, description, brand, category, price, inStock, version) in try await connection.query("""
                SELECT id, product_key, title, description, brand, category, price, in_stock, updated_at FROM products
                WHERE id = ANY(\(rowIDs)) AND NOT deleted ORDER BY id
                """, logger: logger).decode((Int64, String, String, String, String, String, String?, Bool, Int64).self) {
                out.append((id, Product(id: key, title: title, description: description, brand: brand, category: category, price: price,
                                        inStock: inStock), version))
            }
            return out
        }
    }

    private static func products(where condition: PostgresQuery, on connection: PostgresConnection,
                                 logger: Logger) async throws -> [(rowID: Int64, product: Product)] {
        var query = PostgresQuery(unsafeSQL: "SELECT id, product_key, title, description, brand, category, price, in_stock FROM products WHERE ")
        query.sql += condition.sql
        query.binds = condition.binds
        query.sql += " ORDER BY id"
        return try await run("reading products") {
            var out: [(rowID: Int64, product: Product)] = []
            for try await (id, key, title, description, brand, category, price, inStock) in try await connection.query(query, logger: logger)
                .decode((Int64, String, String, String, String, String, String?, Bool).self) {
                out.append((id, Product(id: key, title: title, description: description, brand: brand, category: category,
                                        price: price, inStock: inStock)))
            }
            return out
        }
    }

    /// A shopper's events, oldest first; with `newest`, only that many of the most recent.
    public static func events(forShopID shopID: String, pseudonymizer: ShopperPseudonymizer, newest: Int? = nil,
                              on connection: PostgresConnection, logger: Logger) async throws -> [StoredEvent] {
        precondition(newest.map { $0 >= 0 } ?? true, "a history limit cannot be negative")
        let key = pseudonymizer.key(forShopID: shopID)
        let limit = newest.map(Int64.init)
        return try await run("reading the events of a shopper") {
            var out: [StoredEvent] = []
            for try await (id, shopperKey, productKey, type, ts, quantity, price) in try await connection.query("""
                SELECT e.id, s.shopper_key, p.product_key, e.type, e.ts, e.quantity, e.price
                FROM events e JOIN shoppers s ON s.id = e.shopper_id JOIN products p ON p.id = e.product_id
                WHERE s.shopper_key = \(key) ORDER BY e.ts DESC, e.id DESC LIMIT \(limit)
                """, logger: logger).decode((Int64, String, String, Int16, Int64, Int64?, String?).self) {
                out.append(StoredEvent(id: id, shopperKey: shopperKey, productID: productKey, type: EventType(code: Int(type)) ?? .view,
                                       timestampMillis: ts, quantity: quantity, price: price))
            }
            return out.reversed()
        }
    }

    /// Events per live product and type, for popularity.
    public static func productEventCounts(on connection: PostgresConnection, logger: Logger) async throws -> [(productID: String, type: EventType, count: Int)] {
        try await run("counting events per product") {
            var out: [(productID: String, type: EventType, count: Int)] = []
            for try await (key, type, count) in try await connection.query("""
                SELECT p.product_key, c.type, c.n
                FROM (SELECT product_id, type, count(DISTINCT shopper_id * 1048576 + ts / 86400000) AS n FROM events GROUP BY product_id, type) c
                JOIN products p ON p.id = c.product_id
                WHERE NOT p.deleted
                """, logger: logger).decode((String, Int16, Int64).self) {
                if let eventType = EventType(code: Int(type)) { out.append((key, eventType, Int(count))) }
            }
            return out
        }
    }

    static func run<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            // A lost server or connection stays what it is, so the store can tell it apart from a
            // refused statement (503 and answers from memory, not 500).
            if PostgresProbe.isConnectionFailure(error) { throw error }
            throw CuratorError.storage("PostgreSQL: \(what): \(PostgresProbe.serverMessage(error))")
        }
    }
}
