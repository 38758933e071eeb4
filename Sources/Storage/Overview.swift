import CuratorCore
import Foundation
import GRDB

/// A shopper as an operator's list shows them: by pseudonym, never by the shop's clear id.
public struct ShopperOverview: Sendable, Hashable {
    /// The stored pseudonym; `~` + this names the shopper in the API.
    public var pseudonym: String
    public var events: Int
    public var lastSeenMillis: Int64
    /// The category the shopper has the most events in.
    public var topCategory: String
}

extension CuratorStore {
    /// The most recently active shoppers, newest first.
    public func recentShoppers(limit: Int) throws -> [ShopperOverview] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.id, s.shopper_key, count(*), max(e.ts)
                FROM events e JOIN shoppers s ON s.id = e.shopper_id
                GROUP BY s.id ORDER BY max(e.ts) DESC, s.id DESC LIMIT ?
                """, arguments: [limit])
            return try rows.map { row in
                let top = try String.fetchOne(db, sql: """
                    SELECT p.category FROM events e JOIN products p ON p.id = e.product_id
                    WHERE e.shopper_id = ? GROUP BY p.category ORDER BY count(*) DESC, p.category LIMIT 1
                    """, arguments: [row[0] as Int64]) ?? ""
                return ShopperOverview(pseudonym: row[1], events: row[2], lastSeenMillis: row[3], topCategory: top)
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
            try db.execute(sql: "INSERT INTO evaluations(created_at, report) VALUES (?, ?)", arguments: [Self.nowMillis(), json])
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
