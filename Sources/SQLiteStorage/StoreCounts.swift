import CuratorCore
import GRDB
import Storage

extension CuratorStore {
    public func statistics() throws -> StoreStatistics {
        try read { db in
            let shoppers = try Int.fetchOne(db, sql: "SELECT count(*) FROM shoppers") ?? 0
            let products = try Int.fetchOne(db, sql: "SELECT count(*) FROM products WHERE deleted = 0") ?? 0
            let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            var byType: [String: Int] = [:]
            for type in EventType.allCases { byType[type.rawValue] = 0 }
            for row in try Row.fetchAll(db, sql: "SELECT type, count(*) AS n FROM events GROUP BY type") {
                if let type = EventType(code: row["type"]) { byType[type.rawValue] = row["n"] }
            }
            let pairs = try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT DISTINCT shopper_id, product_id FROM events)") ?? 0
            let lengths = try Int.fetchAll(db, sql: "SELECT count(*) AS n FROM events GROUP BY shopper_id ORDER BY n")
            let range = try Row.fetchOne(db, sql: "SELECT min(ts) AS a, max(ts) AS b FROM events")
            return StoreStatistics(shoppers: shoppers, products: products, events: events, eventsByType: byType, shopperProductPairs: pairs,
                                   historyLengths: lengths, firstEventMillis: range?["a"], lastEventMillis: range?["b"])
        }
    }
}
