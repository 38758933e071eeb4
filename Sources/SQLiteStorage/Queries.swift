import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    public func product(id: String) throws -> Product? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT product_key, title, description, brand, category, price, in_stock FROM products
                WHERE product_key = ? AND deleted = 0
                """, arguments: [TextCleaning.identifier(id)]).map(Self.product(from:))
        }
    }

    /// Every live product, in id order, with its internal row id.
    public func allProducts() throws -> [(rowID: Int64, product: Product)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, product_key, title, description, brand, category, price, in_stock FROM products
                WHERE deleted = 0 ORDER BY id
                """).map { row in
                    (row[0], Product(id: row[1], title: row[2], description: row[3], brand: row[4], category: row[5], price: row[6], inStock: row[7]))
                }
        }
    }

    /// The live products among `keys`, with their row ids, in row-id order.
    public func storedProducts(keys: [String]) throws -> [(rowID: Int64, product: Product)] {
        guard !keys.isEmpty else { return [] }
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, product_key, title, description, brand, category, price, in_stock FROM products
                WHERE deleted = 0 AND product_key IN (SELECT value FROM json_each(?)) ORDER BY id
                """, arguments: [try CuratorJSON.text(keys)]).map { row in
                    (row[0], Product(id: row[1], title: row[2], description: row[3], brand: row[4], category: row[5], price: row[6], inStock: row[7]))
                }
        }
    }

    public func storedProducts(rowIDs: [Int64]) throws -> [(rowID: Int64, product: Product, version: Int64)] {
        guard !rowIDs.isEmpty else { return [] }
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, product_key, title, description, brand, category, price, in_stock, updated_at FROM products
                WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?)) ORDER BY id
                """, arguments: [try CuratorJSON.text(rowIDs)]).map { row in
                    (row[0], Product(id: row[1], title: row[2], description: row[3], brand: row[4], category: row[5], price: row[6], inStock: row[7]),
                     row[8])
                }
        }
    }

    public func productVersions() throws -> [(rowID: Int64, version: Int64)] {
        try read { db in
            var out: [(rowID: Int64, version: Int64)] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT id, updated_at FROM products WHERE deleted = 0 ORDER BY id")
            while let row = try rows.next() { out.append((row[0], row[1])) }
            return out
        }
    }

    /// The product and type of each stored event among `ids`.
    public func eventSummaries(ids: [Int64]) throws -> [EventSummary] {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            let firsts = try Self.firstOfTheirDay(ids: ids, in: db)
            return try Row.fetchAll(db, sql: """
                SELECT s.shopper_key, p.product_key, e.type, e.id FROM events e
                JOIN products p ON p.id = e.product_id JOIN shoppers s ON s.id = e.shopper_id
                WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY e.id
                """, arguments: [try CuratorJSON.text(ids)]).compactMap { row in
                    EventType(code: row[2]).map {
                        EventSummary(shopperKey: row[0], productID: row[1], type: $0, countsTowardPopularity: firsts.contains(row[3]))
                    }
                }
        }
    }

    static func product(from row: Row) -> Product {
        Product(id: row["product_key"], title: row["title"], description: row["description"], brand: row["brand"],
                category: row["category"], price: row["price"], inStock: row["in_stock"])
    }

    public func productCount(withEmptyTitle: Bool) throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM products WHERE deleted = 0 AND (title = '') = ?", arguments: [withEmptyTitle]) ?? 0
        }
    }

    /// The internal id of a shop's shopper, or nil when the store has never seen them.
    public func shopperID(forShopID shopID: String) throws -> Int64? {
        let key = shopperKey(for: shopID)
        return try read { db in try Int64.fetchOne(db, sql: "SELECT id FROM shoppers WHERE shopper_key = ?", arguments: [key]) }
    }

    /// A shopper's newest `newest` events (all when nil), oldest first.
    ///
    /// Read newest first so the bound is on the recent end: anyone who can post events could
    /// otherwise make one shopper's history, and every request that reads it, as long as they like.
    public func events(forShopID shopID: String, newest: Int? = nil) throws -> [StoredEvent] {
        precondition(newest.map { $0 >= 0 } ?? true, "a history limit cannot be negative")
        let key = shopperKey(for: shopID)
        return try read { db in
            // A cached statement: this runs for every recommendation request.
            let statement = try db.cachedStatement(sql: """
                SELECT e.id, s.shopper_key, p.product_key, e.type, e.ts, e.quantity, e.price
                FROM events e JOIN shoppers s ON s.id = e.shopper_id JOIN products p ON p.id = e.product_id
                WHERE s.shopper_key = ? ORDER BY e.ts DESC, e.id DESC LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [key, newest ?? -1]).reversed().map(Self.storedEvent(from:))
        }
    }

    static func storedEvent(from row: Row) -> StoredEvent {
        StoredEvent(id: row[0], shopperKey: row[1], productID: row[2], type: EventType(code: row[3]) ?? .view,
                    timestampMillis: row[4], quantity: row[5], price: row[6])
    }

    /// All events as dense indices for training and evaluation. Products without events are
    /// still indexed, so models rank the whole live catalogue.
    public func interactionLog() throws -> InteractionLog {
        try read { db in
            var log = InteractionLog.Builder()
            let products = try Row.fetchCursor(db, sql: "SELECT id, product_key FROM products WHERE deleted = 0 ORDER BY id")
            while let row = try products.next() { log.addProduct(rowID: row[0], key: row[1]) }
            let shoppers = try Row.fetchCursor(db, sql: "SELECT id, shopper_key FROM shoppers ORDER BY id")
            while let row = try shoppers.next() { log.addShopper(rowID: row[0], key: row[1]) }
            let events = try Row.fetchCursor(db, sql: "SELECT id, shopper_id, product_id, type, ts FROM events")
            while let row = try events.next() {
                log.addEvent(id: row[0], shopperRowID: row[1], productRowID: row[2], typeCode: row[3], timestampMillis: row[4])
            }
            return log.build()
        }
    }
}

extension CuratorStore {
    /// How many events of each type every live product has, for popularity (whose one
    /// definition lives with the recommenders, not in the store).
    public func productEventCounts() throws -> [(productID: String, type: EventType, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT p.product_key, c.type, c.n
                FROM (SELECT product_id, type, count(DISTINCT shopper_id * 1048576 + ts / 86400000) AS n FROM events GROUP BY product_id, type) c
                JOIN products p ON p.id = c.product_id
                WHERE p.deleted = 0
                """).compactMap { row in
                    EventType(code: row[1]).map { (productID: row[0], type: $0, count: row[2]) }
                }
        }
    }
}
