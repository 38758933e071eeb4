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
                try await appendInTransaction(events, pseudonymizer: pseudonymizer, connection: connection, logger: logger).appended
            }
        } catch {
            throw CuratorError.storage("PostgreSQL: storing \(events.count) events: \(PostgresProbe.serverMessage(error))")
        }
    }

    /// The batch inside the caller's transaction; also says how many shoppers it created and the
    /// ids of the events it stored.
    static func appendInTransaction(_ events: [Event], pseudonymizer: ShopperPseudonymizer, connection: PostgresConnection,
                                    logger: Logger) async throws -> (appended: AppendedEvents, newShoppers: Int, eventIDs: [Int64]) {
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
            problems.append(.unknownProduct(index: index, productID: events[index].productID))
        }
        if !problems.isEmpty { return (.refused(count: events.count, problems: problems), 0, []) }

        // Shoppers: created when new (a concurrent creator wins or waits; either way one row), then
        // read back. Created in order of first appearance, as the SQLite store numbers them, so the
        // same files give the same ids in either store.
        let shopperKeys = events.map { pseudonymizer.key(forShopID: $0.shopperID) }
        var seenShoppers: Set<String> = []
        let distinctShoppers = shopperKeys.filter { seenShoppers.insert($0).inserted }
        let now = Timestamps.nowMillis()
        var newShoppers = 0
        for try await _ in try await connection.query("""
            INSERT INTO shoppers(shopper_key, created_at)
            SELECT key, \(now) FROM unnest(\(distinctShoppers)::text[]) WITH ORDINALITY AS batch(key, position)
            WHERE NOT EXISTS (SELECT 1 FROM shoppers s WHERE s.shopper_key = batch.key)
            ORDER BY position
            ON CONFLICT (shopper_key) DO NOTHING RETURNING 1
            """, logger: logger) {
            newShoppers += 1
        }
        var shopperRows: [String: Int64] = [:]
        for try await (key, id) in try await connection.query(
            "SELECT shopper_key, id FROM shoppers WHERE shopper_key = ANY(\(distinctShoppers))", logger: logger
        ).decode((String, Int64).self) {
            shopperRows[key] = id
        }

        // A repeat inside the batch is a duplicate, as it is for SQLite's row-by-row insert: only
        // first occurrences are sent.
        var firsts: [Int] = []
        var seen: Set<Identity> = []
        var identities: [Identity] = []
        identities.reserveCapacity(events.count)
        for (i, event) in events.enumerated() {
            let identity = Identity(shopper: shopperRows[shopperKeys[i]] ?? 0, product: productRows[productKeys[i]] ?? 0,
                                    type: Int16(event.type.code), ts: event.timestampMillis, quantity: event.quantity, price: event.price)
            identities.append(identity)
            if seen.insert(identity).inserted { firsts.append(i) }
        }
        // The batch as columns (postgres-nio sends no NULL inside an array: a flag column says which are absent).
        let sent = firsts.map { identities[$0] }
        let shoppers = sent.map(\.shopper), products = sent.map(\.product), types = sent.map(\.type), times = sent.map(\.ts)
        let quantities = sent.map { $0.quantity ?? 0 }, hasQuantity = sent.map { $0.quantity != nil }
        let prices = sent.map { $0.price ?? "" }, hasPrice = sent.map { $0.price != nil }
        var inserted: Set<Identity> = []
        var insertedIDs: [Int64] = []
        var idOf: [Identity: Int64] = [:]
        // Stored events are skipped before they are offered (NOT EXISTS, through the identity index),
        // so event ids stay gapless as in SQLite; ON CONFLICT still settles a race with another server.
        for try await (id, shopper, product, type, ts, quantity, price) in try await connection.query("""
            INSERT INTO events(shopper_id, product_id, type, ts, quantity, price)
            SELECT b.s, b.p, b.t, b.ts, b.q, b.pr FROM (
                SELECT s, p, t, ts, CASE WHEN hq THEN q END AS q, CASE WHEN hp THEN pr END AS pr, position
                FROM unnest(\(shoppers)::bigint[], \(products)::bigint[], \(types)::smallint[], \(times)::bigint[],
                            \(quantities)::bigint[], \(hasQuantity)::boolean[], \(prices)::text[], \(hasPrice)::boolean[])
                     WITH ORDINALITY AS u(s, p, t, ts, q, hq, pr, hp, position)) b
            WHERE NOT EXISTS (SELECT 1 FROM events e
                              WHERE e.shopper_id = b.s AND e.ts = b.ts AND e.product_id = b.p AND e.type = b.t
                                AND coalesce(e.quantity, -1) = coalesce(b.q, -1) AND coalesce(e.price, '') = coalesce(b.pr, ''))
            ORDER BY b.position
            ON CONFLICT DO NOTHING
            RETURNING id, shopper_id, product_id, type, ts, quantity, price
            """, logger: logger).decode((Int64, Int64, Int64, Int16, Int64, Int64?, String?).self) {
            insertedIDs.append(id)
            let identity = Identity(shopper: shopper, product: product, type: type, ts: ts, quantity: quantity, price: price)
            inserted.insert(identity)
            idOf[identity] = id
        }
        // New: the first event of the batch with each inserted identity.
        var isNew: [Bool] = []
        isNew.reserveCapacity(events.count)
        let firstOfDay = try await firstOfTheirDay(ids: insertedIDs, on: connection, logger: logger)
        var counts: [Bool] = []
        var newestPerShopper: [Int64: Int64] = [:]
        for (i, identity) in identities.enumerated() {
            let new = inserted.remove(identity) != nil
            isNew.append(new)
            counts.append(new && idOf[identity].map(firstOfDay.contains) == true)
            if new, events[i].timestampMillis > newestPerShopper[identity.shopper] ?? .min {
                newestPerShopper[identity.shopper] = events[i].timestampMillis
            }
        }
        if !newestPerShopper.isEmpty {
            let ids = Array(newestPerShopper.keys)
            let newest = ids.map { newestPerShopper[$0]! }
            try await connection.query("""
                UPDATE shoppers SET last_seen = greatest(last_seen, v.ts)
                FROM unnest(\(ids)::bigint[], \(newest)::bigint[]) AS v(id, ts) WHERE shoppers.id = v.id
                """, logger: logger)
        }
        return (AppendedEvents(isNew: isNew, problems: [], countsTowardPopularity: counts), newShoppers, insertedIDs)
    }

    /// Which of `ids` are the first stored event of their shopper, product, type and UTC day (the
    /// SQLite store's `firstOfTheirDay`, the same SQL).
    static func firstOfTheirDay(ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        var firsts = Set<Int64>()
        for try await id in try await connection.query("""
            SELECT e.id FROM events e WHERE e.id = ANY(\(ids))
              AND NOT EXISTS (SELECT 1 FROM events o WHERE o.shopper_id = e.shopper_id AND o.ts BETWEEN e.ts - 86400000 AND e.ts + 86400000
                              AND o.product_id = e.product_id AND o.type = e.type AND o.ts / 86400000 = e.ts / 86400000 AND o.id < e.id)
            """, logger: logger).decode(Int64.self) {
            firsts.insert(id)
        }
        return firsts
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
