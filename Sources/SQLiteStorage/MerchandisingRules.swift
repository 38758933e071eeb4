import CuratorCore
import Foundation
import GRDB
import Storage

/// Merchandising rules (`MerchandisingRuleStore`) and product ages in the SQLite file.
extension CuratorStore {
    public func merchandisingRules() throws -> [MerchandisingRule] { try read { db in try Self.merchandisingRules(in: db) } }

    static func merchandisingRules(in db: Database) throws -> [MerchandisingRule] {
        try Row.fetchAll(db, sql: "SELECT name, rule, updated_at FROM merchandising_rules ORDER BY name").map { row in
            do {
                return try MerchandisingRule.fromStored(row[1], updatedAtMillis: row[2])
            } catch {
                throw CuratorError.storage("merchandising rule '\(row[0] as String)' is stored unreadable: \(error)")
            }
        }
    }

    public func putMerchandisingRule(_ rule: MerchandisingRule) throws -> Bool {
        try write { db in try Self.put(rule, into: db) }
    }

    /// True when the rule is new.
    @discardableResult
    static func put(_ rule: MerchandisingRule, into db: Database) throws -> Bool {
        let existed = try Bool.fetchOne(db, sql: "SELECT 1 FROM merchandising_rules WHERE name = ?", arguments: [rule.name]) ?? false
        try db.execute(sql: """
            INSERT INTO merchandising_rules(name, rule, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET rule = excluded.rule, updated_at = excluded.updated_at
            """, arguments: [rule.name, try rule.storedJSON(), rule.updatedAtMillis])
        return !existed
    }

    public func deleteMerchandisingRule(named name: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM merchandising_rules WHERE name = ?", arguments: [name])
            return db.changesCount == 1
        }
    }

    public func productsAdded(sinceMillis: Int64) throws -> [(productID: String, addedAtMillis: Int64)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT product_key, created_at FROM products WHERE created_at >= ? AND deleted = 0", arguments: [sinceMillis])
                .map { (productID: $0[0], addedAtMillis: $0[1]) }
        }
    }
}
