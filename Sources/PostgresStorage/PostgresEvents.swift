import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// A batch of events into a PostgreSQL store, with the SQLite store's rules (`CuratorStore.appendEvents`):
/// all or none, a batch naming an unknown or deleted product refused whole with the offending
/// items listed, shoppers kept under their pseudonyms, and an event identical in every column to a
/// stored one kept once — also when two servers receive it at the same moment (the unique index
/// makes the second insert wait for the first to commit, then skip).
public enum PostgresEvents {
    /// One transaction on `connection`. Set-based: a handful of statements per batch, not one per event.
    public static func append(_ events: [Event], pseudonymizer: ShopperPseudonymizer, on connection: PostgresConnection,
                              logger: Logger) async throws -> AppendedEvents {
        guard !events.isEmpty else { return AppendedEvents(isNew: [], problems: []) }
        do {
            return try await connection.withTransaction(logger: logger) { connection in
                try await appendInTransaction(events, pseudonymizer: pseudonymizer, connection: connection, logger: logger)
            }
        } catch {
            throw CuratorError.storage("PostgreSQL: storing \(events.count) events: \(PostgresProbe.serverMessage(error))")
        }
    }

    private static func appendInTransaction(_ events: [Event], pseudonymizer: ShopperPseudonymizer, connection: PostgresConnection,
                                            logger: Logger) async throws -> AppendedEvents {
        let productKeys = events.map { TextCleaning.identifier($0.productID) }
        var productRows: [String: Int64] = [:]
        let distinctProducts = Array(Set(productKeys))
        for try await (key, id) in try await connection.query(
            "SELECT product_key, id FROM products WHERE product_key = ANY(\(distinctProducts)) AND NOT deleted", logger: logger
        ).decode((String, Int64).self) {
            productRows[key] = id
        }
        var problems: [EventProblem] = []
        for (index, key) in productKeys.enumerated() where productRows[key] == nil {
            problems.append(EventProblem(index: index, field: "product_id", reason: "unknown product '\(events[index].productID)'"))
        }
        if !problems.isEmpty { return AppendedEvents(isNew: [Bool](repeating: false, count: events.count), problems: problems) }

        // Shoppers: created when new (a concurrent creator wins or waits; either way one row), then read back.
        let shopperKeys = events.map { pseudonymizer.key(forShopID: $0.shopperID) }
        let distinctShoppers = Array(Set(shopperKeys))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await connection.query("""
            INSERT INTO shoppers(shopper_key, created_at) SELECT key, \(now) FROM unnest(\(distinctShoppers)::text[]) AS key
            ON CONFLICT (shopper_key) DO NOTHING
            """, logger: logger)
        var shopperRows: [String: Int64] = [:]
        for try await (key, id) in try await connection.query(
            "SELECT shopper_key, id FROM shoppers WHERE shopper_key = ANY(\(distinctShoppers))", logger: logger
        ).decode((String, Int64).self) {
            shopperRows[key] = id
        }

        // The batch as columns (postgres-nio sends no NULL inside an array: a flag column says which are absent).
        let shoppers = shopperKeys.map { shopperRows[$0] ?? 0 }
        let products = productKeys.map { productRows[$0] ?? 0 }
        let types = events.map { Int16($0.type.code) }
        let times = events.map(\.timestampMillis)
        let quantities = events.map { $0.quantity ?? 0 }
        let hasQuantity = events.map { $0.quantity != nil }
        let prices = events.map { $0.price ?? "" }
        let hasPrice = events.map { $0.price != nil }
        var inserted: Set<Identity> = []
        for try await (shopper, product, type, ts, quantity, price) in try await connection.query("""
            INSERT INTO events(shopper_id, product_id, type, ts, quantity, price)
            SELECT s, p, t, ts, CASE WHEN hq THEN q END, CASE WHEN hp THEN pr END
            FROM unnest(\(shoppers)::bigint[], \(products)::bigint[], \(types)::smallint[], \(times)::bigint[],
                        \(quantities)::bigint[], \(hasQuantity)::boolean[], \(prices)::text[], \(hasPrice)::boolean[])
                 WITH ORDINALITY AS batch(s, p, t, ts, q, hq, pr, hp, position)
            ORDER BY position
            ON CONFLICT DO NOTHING
            RETURNING shopper_id, product_id, type, ts, quantity, price
            """, logger: logger).decode((Int64, Int64, Int16, Int64, Int64?, String?).self) {
            inserted.insert(Identity(shopper: shopper, product: product, type: type, ts: ts, quantity: quantity, price: price))
        }
        // Stored now: the first event of the batch with each inserted identity (a repeat inside
        // the batch is a duplicate, as it is for SQLite's row-by-row insert).
        var isNew: [Bool] = []
        isNew.reserveCapacity(events.count)
        var newestPerShopper: [Int64: Int64] = [:]
        for i in events.indices {
            let identity = Identity(shopper: shoppers[i], product: products[i], type: types[i], ts: times[i],
                                    quantity: events[i].quantity, price: events[i].price)
            let new = inserted.remove(identity) != nil
            isNew.append(new)
            if new, times[i] > newestPerShopper[shoppers[i]] ?? .min { newestPerShopper[shoppers[i]] = times[i] }
        }
        if !newestPerShopper.isEmpty {
            let ids = Array(newestPerShopper.keys)
            let newest = ids.map { newestPerShopper[$0]! }
            try await connection.query("""
                UPDATE shoppers SET last_seen = greatest(last_seen, v.ts)
                FROM unnest(\(ids)::bigint[], \(newest)::bigint[]) AS v(id, ts) WHERE shoppers.id = v.id
                """, logger: logger)
        }
        return AppendedEvents(isNew: isNew, problems: [])
    }

    /// The columns the unique index `events_identity` compares.
    private struct Identity: Hashable {
        var shopper: Int64
        var product: Int64
        var type: Int16
        var ts: Int64
        var quantity: Int64?
        var price: String?
    }
}
