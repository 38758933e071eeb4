import CuratorCore
import Foundation
import GRDB
import Storage

/// Personalisation off and erasure (`ShopperPrivacyStore`) in the SQLite file.
extension CuratorStore {
    public func shoppersWithoutPersonalisation() throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT shopper_key FROM shopper_preferences WHERE personalised = 0")) }
    }

    public func setPersonalised(_ personalised: Bool, shopperKey: String) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO shopper_preferences(shopper_key, personalised, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(shopper_key) DO UPDATE SET personalised = excluded.personalised, updated_at = excluded.updated_at
                """, arguments: [shopperKey, personalised, Timestamps.nowMillis()])
        }
    }

    public func eraseShopper(shopperKey: String) throws -> Int? {
        try write { db in
            let id = try Int64.fetchOne(db, sql: "SELECT id FROM shoppers WHERE shopper_key = ?", arguments: [shopperKey])
            let preferences = try Int.fetchOne(db, sql: "SELECT count(*) FROM shopper_preferences WHERE shopper_key = ?", arguments: [shopperKey]) ?? 0
            let lists = try Int.fetchOne(db, sql: "SELECT count(*) FROM served_lists WHERE shopper_key = ?", arguments: [shopperKey]) ?? 0
            guard id != nil || preferences > 0 || lists > 0 else { return nil }
            var events = 0
            if let id {
                try db.execute(sql: "DELETE FROM split_events WHERE event_id IN (SELECT id FROM events WHERE shopper_id = ?)", arguments: [id])
                try db.execute(sql: "DELETE FROM events WHERE shopper_id = ?", arguments: [id])
                events = db.changesCount
                try db.execute(sql: "DELETE FROM shoppers WHERE id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM shopper_preferences WHERE shopper_key = ?", arguments: [shopperKey])
            let theirLists = "SELECT id FROM served_lists WHERE shopper_key = ?"
            try db.execute(sql: "DELETE FROM seen_items WHERE recommendation_id IN (\(theirLists))", arguments: [shopperKey])
            try db.execute(sql: "DELETE FROM attributed_events WHERE shopper_key = ? OR recommendation_id IN (\(theirLists))",
                           arguments: [shopperKey, shopperKey])
            try db.execute(sql: "DELETE FROM served_lists WHERE shopper_key = ?", arguments: [shopperKey])
            return events
        }
    }
}
