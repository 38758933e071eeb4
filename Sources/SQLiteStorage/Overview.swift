import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    /// The most recently active shoppers, newest first. Read from the `shoppers_last_seen`
    /// index, so the cost follows `limit` (and those shoppers' histories), not the event table.
    public func recentShoppers(limit: Int) throws -> [ShopperOverview] {
        try read { db in
            try Row.fetchAll(db, sql: """
                WITH recent AS (
                    SELECT id, shopper_key, last_seen FROM shoppers WHERE last_seen > 0
                    ORDER BY last_seen DESC, id DESC LIMIT ?)
                SELECT r.shopper_key, (SELECT count(*) FROM events e WHERE e.shopper_id = r.id), r.last_seen,
                       ifnull((SELECT p.category FROM events e JOIN products p ON p.id = e.product_id
                               WHERE e.shopper_id = r.id GROUP BY p.category ORDER BY count(*) DESC, p.category LIMIT 1), '')
                FROM recent r
                ORDER BY r.last_seen DESC, r.id DESC
                """, arguments: [limit]).map { row in
                ShopperOverview(pseudonym: row[0], events: row[1], lastSeenMillis: row[2], topCategory: row[3])
            }
        }
    }

    /// Stored events per type, and how many shoppers have any.
    public func eventTotals() throws -> (counts: [EventType: Int], shoppers: Int) {
        try read { db in
            var counts: [EventType: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT type, count(*) FROM events GROUP BY type") {
                if let type = EventType(code: row[0]) { counts[type] = row[1] }
            }
            let shoppers = try Int.fetchOne(db, sql: "SELECT count(DISTINCT shopper_id) FROM events") ?? 0
            return (counts, shoppers)
        }
    }

    /// Keeps an evaluation report (JSON text, as `curator evaluate --json` prints it) for the
    /// storefront's models page; earlier reports stay for comparison.
    public func saveEvaluation(json: String) throws {
        try write { db in
            try db.execute(sql: "INSERT INTO evaluations(created_at, report) VALUES (?, ?)", arguments: [Timestamps.nowMillis(), json])
        }
    }

    /// The newest evaluation report and when it was made.
    public func latestEvaluation() throws -> (createdAtMillis: Int64, json: String)? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT created_at, report FROM evaluations ORDER BY id DESC LIMIT 1") else { return nil }
            return (row[0], row[1])
        }
    }
}
