import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    /// Identifies the current events and catalogue, so saved splits and models can tell
    /// whether they were made from the data now in the store.
    public func dataFingerprint() throws -> String {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM events), (SELECT ifnull(max(id), 0) FROM events),
                       (SELECT count(*) FROM products WHERE deleted = 0), (SELECT ifnull(max(updated_at), 0) FROM products)
                """)!
            return StoreDigest.data(events: row[0], maxEventID: row[1], liveProducts: row[2], maxProductUpdate: row[3])
        }
    }

    /// Saves a split under its name, replacing one of the same name, in one transaction.
    public func saveSplit(_ split: StoredSplit) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM splits WHERE name = ?", arguments: [split.name])
            try db.execute(sql: """
                INSERT INTO splits(name, kind, parameters, data_fingerprint, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [split.name, split.kind, split.parameters, split.dataFingerprint, split.createdAtMillis])
            let id = db.lastInsertedRowID
            let insert = RawStatement(try db.makeStatement(sql: "INSERT INTO split_events(split_id, event_id, part) VALUES (?, ?, ?)"))
            for assignment in split.assignments {
                insert.bind(1, id)
                insert.bind(2, assignment.eventID)
                insert.bind(3, assignment.part)
                _ = try insert.run(db)
            }
        }
    }

    public func split(named name: String) throws -> StoredSplit? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM splits WHERE name = ?", arguments: [name]) else { return nil }
            var assignments: [(eventID: Int64, part: String)] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT event_id, part FROM split_events WHERE split_id = ? ORDER BY event_id",
                                           arguments: [row["id"] as Int64])
            while let r = try rows.next() { assignments.append((r[0], r[1])) }
            return StoredSplit(name: row["name"], kind: row["kind"], parameters: row["parameters"],
                               dataFingerprint: row["data_fingerprint"], createdAtMillis: row["created_at"], assignments: assignments)
        }
    }
}
