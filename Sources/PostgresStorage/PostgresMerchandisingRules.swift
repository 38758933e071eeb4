import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// Merchandising rules (`MerchandisingRuleStore`) and product ages in PostgreSQL. Storing or
/// deleting a rule is logged in the change log, so every replica applies it at once.
extension PostgresStore {
    public func merchandisingRules() async throws -> [MerchandisingRule] {
        try await withConnection("reading merchandising rules") { [self] connection in try await merchandisingRules(on: connection) }
    }

    func merchandisingRules(on connection: PostgresConnection) async throws -> [MerchandisingRule] {
        var out: [MerchandisingRule] = []
        for try await (name, text, updated) in try await connection.query(
            "SELECT name, rule, updated_at FROM merchandising_rules ORDER BY name", logger: logger
        ).decode((String, String, Int64).self) {
            do {
                out.append(try MerchandisingRule.fromStored(text, updatedAtMillis: updated))
            } catch {
                throw CuratorError.storage("merchandising rule '\(name)' is stored unreadable: \(error)")
            }
        }
        return out
    }

    public func putMerchandisingRule(_ rule: MerchandisingRule) async throws -> Bool {
        try await inTransaction("storing merchandising rule '\(rule.name)'") { [self] connection in
            let isNew = try await Self.put(rule, on: connection, logger: logger)
            try await PostgresChanges.log(.rules, origin: origin, on: connection, logger: logger)
            return isNew
        }
    }

    /// True when the rule is new.
    static func put(_ rule: MerchandisingRule, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var isNew = false
        for try await inserted in try await connection.query("""
            INSERT INTO merchandising_rules(name, rule, updated_at) VALUES (\(rule.name), \(try rule.storedJSON()), \(rule.updatedAtMillis))
            ON CONFLICT (name) DO UPDATE SET rule = excluded.rule, updated_at = excluded.updated_at
            RETURNING (xmax = 0)
            """, logger: logger).decode(Bool.self) {
            isNew = inserted
        }
        return isNew
    }

    public func deleteMerchandisingRule(named name: String) async throws -> Bool {
        try await inTransaction("deleting merchandising rule '\(name)'") { [self] connection in
            var deleted = false
            for try await _ in try await connection.query("DELETE FROM merchandising_rules WHERE name = \(name) RETURNING 1", logger: logger)
                .decode(Int32.self) {
                deleted = true
            }
            if deleted { try await PostgresChanges.log(.rules, origin: origin, on: connection, logger: logger) }
            return deleted
        }
    }

    public func productsAdded(sinceMillis: Int64) async throws -> [(productID: String, addedAtMillis: Int64)] {
        try await withConnection("reading new products") { [self] connection in
            var out: [(productID: String, addedAtMillis: Int64)] = []
            for try await (key, added) in try await connection.query(
                "SELECT product_key, created_at FROM products WHERE created_at >= \(sinceMillis) AND NOT deleted", logger: logger
            ).decode((String, Int64).self) {
                out.append((key, added))
            }
            return out
        }
    }
}
