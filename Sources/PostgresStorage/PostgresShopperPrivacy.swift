import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// Personalisation off and erasure (`ShopperPrivacyStore`) in PostgreSQL. An erasure is logged in
/// the change log, so every replica drops the shopper's events from popularity and histories.
extension PostgresStore {
    public func shoppersWithoutPersonalisation() async throws -> Set<String> {
        try await withConnection("reading shoppers' preferences") { [self] connection in
            var keys = Set<String>()
            for try await key in try await connection.query("SELECT shopper_key FROM shopper_preferences WHERE NOT personalised", logger: logger)
                .decode(String.self) {
                keys.insert(key)
            }
            return keys
        }
    }

    public func setPersonalised(_ personalised: Bool, shopperKey: String) async throws {
        try await withConnection("storing a shopper's preference") { [self] connection in
            try await connection.query("""
                INSERT INTO shopper_preferences(shopper_key, personalised, updated_at) VALUES (\(shopperKey), \(personalised), \(Timestamps.nowMillis()))
                ON CONFLICT (shopper_key) DO UPDATE SET personalised = excluded.personalised, updated_at = excluded.updated_at
                """, logger: logger)
        }
    }

    public func eraseShopper(shopperKey: String) async throws -> Int? {
        try await inTransaction("erasing a shopper") { [self] connection in
            var known = false
            for try await _ in try await connection.query("""
                SELECT 1 WHERE EXISTS (SELECT 1 FROM shoppers WHERE shopper_key = \(shopperKey))
                            OR EXISTS (SELECT 1 FROM shopper_preferences WHERE shopper_key = \(shopperKey))
                            OR EXISTS (SELECT 1 FROM served_lists WHERE shopper_key = \(shopperKey))
                """, logger: logger).decode(Int32.self) {
                known = true
            }
            guard known else { return nil }
            try await connection.query("""
                DELETE FROM split_events WHERE event_id IN (SELECT e.id FROM events e JOIN shoppers s ON s.id = e.shopper_id WHERE s.shopper_key = \(shopperKey))
                """, logger: logger)
            var events = 0
            for try await n in try await connection.query("""
                WITH gone AS (DELETE FROM events WHERE shopper_id IN (SELECT id FROM shoppers WHERE shopper_key = \(shopperKey)) RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger).decode(Int64.self) {
                events = Int(n)
            }
            try await connection.query("DELETE FROM shoppers WHERE shopper_key = \(shopperKey)", logger: logger)
            try await connection.query("DELETE FROM shopper_preferences WHERE shopper_key = \(shopperKey)", logger: logger)
            try await connection.query("""
                DELETE FROM seen_items WHERE recommendation_id IN (SELECT id FROM served_lists WHERE shopper_key = \(shopperKey))
                """, logger: logger)
            try await connection.query("""
                DELETE FROM attributed_events
                WHERE shopper_key = \(shopperKey) OR recommendation_id IN (SELECT id FROM served_lists WHERE shopper_key = \(shopperKey))
                """, logger: logger)
            try await connection.query("DELETE FROM served_lists WHERE shopper_key = \(shopperKey)", logger: logger)
            try await PostgresChanges.log(.erasure, origin: origin, on: connection, logger: logger)
            return events
        }
    }
}
