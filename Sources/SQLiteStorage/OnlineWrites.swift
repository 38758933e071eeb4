import CuratorCore
import Foundation
import GRDB
import Storage

/// Writes the server makes one request at a time: each call is one transaction, durable when it returns.
extension CuratorStore {
    /// Stores a batch of events, all or none. Events naming unknown products are refused as a
    /// whole with the offending items listed (`CuratorError` is not used so callers can answer 422).
    /// Reports which events were new, so in-memory state (popularity) counts a re-sent event
    /// once, exactly as the store does.
    public func appendEvents(_ events: [Event]) throws -> AppendedEvents {
        let pseudonymizer = self.pseudonymizer
        return try write { db in
            var problems: [EventProblem] = []
            var productRows: [String: Int64] = [:]
            let findProduct = try db.makeStatement(sql: "SELECT id FROM products WHERE product_key = ? AND deleted = 0")
            for (index, event) in events.enumerated() {
                let key = TextCleaning.identifier(event.productID)
                if productRows[key] != nil { continue }
                if let row = try Int64.fetchOne(findProduct, arguments: [key]) {
                    productRows[key] = row
                } else {
                    problems.append(.unknownProduct(index: index, productID: event.productID))
                }
            }
            if !problems.isEmpty { return .refused(count: events.count, problems: problems) }
            var writer = try EventWriter(db: db, pseudonymizer: pseudonymizer)
            var isNew: [Bool] = []
            var insertedIDs: [Int64?] = []
            isNew.reserveCapacity(events.count)
            for event in events {
                guard let productRowID = productRows[TextCleaning.identifier(event.productID)] else {
                    throw CuratorError.storage("product '\(event.productID)' was found and then lost within one transaction")
                }
                let new = try writer.write(shopID: TextCleaning.identifier(event.shopperID), productRowID: productRowID,
                                           type: event.type, timestampMillis: event.timestampMillis,
                                           quantity: event.quantity, price: event.price)
                isNew.append(new)
                insertedIDs.append(new ? db.lastInsertedRowID : nil)
            }
            try writer.finish()
            let firsts = try Self.firstOfTheirDay(ids: insertedIDs.compactMap { $0 }, in: db)
            return AppendedEvents(isNew: isNew, problems: [], countsTowardPopularity: insertedIDs.map { $0.map(firsts.contains) ?? false })
        }
    }

    /// Which of `ids` are the first stored event of their shopper, product, type and UTC day: the
    /// events that count toward popularity (`Popularity.countsOnce`).
    static func firstOfTheirDay(ids: [Int64], in db: Database) throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return Set(try Int64.fetchAll(db, sql: """
            SELECT e.id FROM events e WHERE e.id IN (SELECT value FROM json_each(?))
              AND NOT EXISTS (SELECT 1 FROM events o WHERE o.shopper_id = e.shopper_id AND o.ts BETWEEN e.ts - 86400000 AND e.ts + 86400000
                              AND o.product_id = e.product_id AND o.type = e.type AND o.ts / 86400000 = e.ts / 86400000 AND o.id < e.id)
            """, arguments: [try CuratorJSON.text(ids)]))
    }

    /// Creates or replaces products (text cleaned as on import), in one transaction.
    /// Returns the products as stored, with their row ids.
    public func upsertProducts(_ products: [Product]) throws -> [(rowID: Int64, product: Product)] {
        try write { db in
            let now = Timestamps.nowMillis()
            let statement = try db.makeStatement(sql: """
                INSERT INTO products(product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)
                ON CONFLICT(product_key) DO UPDATE SET title = excluded.title, description = excluded.description,
                    brand = excluded.brand, category = excluded.category, price = excluded.price,
                    in_stock = excluded.in_stock, deleted = 0, updated_at = max(excluded.updated_at, products.updated_at + 1)
                """)
            return try products.map { product in
                let cleaned = product.cleanedForStore()
                try statement.execute(arguments: [cleaned.id, cleaned.title, cleaned.description, cleaned.brand,
                                                  cleaned.category, cleaned.price, cleaned.inStock, now])
                let rowID = try Int64.fetchOne(db, sql: "SELECT id FROM products WHERE product_key = ?", arguments: [cleaned.id]) ?? 0
                return (rowID, cleaned)
            }
        }
    }

    /// Row ids of deleted products, so an index saved earlier can drop them.
    public func deletedProductRowIDs() throws -> [Int64] {
        try read { db in try Int64.fetchAll(db, sql: "SELECT id FROM products WHERE deleted = 1") }
    }

    /// Takes a product out of the catalogue; its events stay as history. Returns false when unknown.
    public func deleteProduct(id: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE products SET deleted = 1, updated_at = max(?, updated_at + 1) WHERE product_key = ? AND deleted = 0",
                           arguments: [Timestamps.nowMillis(), TextCleaning.identifier(id)])
            return db.changesCount > 0
        }
    }

    /// A shopper's event counts per type and their most recent events, newest first.
    public func shopperSummary(shopID: String, recent: Int = 20) throws -> ShopperSummary? {
        let key = shopperKey(for: shopID)
        return try read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM shoppers WHERE shopper_key = ?", arguments: [key]) else { return nil }
            let counts = try Row.fetchAll(db, sql: "SELECT type, count(*) FROM events WHERE shopper_id = ? GROUP BY type", arguments: [id])
                .map { (code: $0[0] as Int, count: $0[1] as Int) }
            let events = try Row.fetchAll(db, sql: """
                SELECT e.id, ?, p.product_key, e.type, e.ts, e.quantity, e.price
                FROM events e JOIN products p ON p.id = e.product_id
                WHERE e.shopper_id = ? ORDER BY e.ts DESC, e.id DESC LIMIT ?
                """, arguments: [key, id, recent]).map(Self.storedEvent(from:))
            return ShopperSummary(countsByTypeCode: counts, recent: events)
        }
    }
}
