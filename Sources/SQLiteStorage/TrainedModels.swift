import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    /// Saves `model` as the next version of its name (its `version` and `createdAtMillis` are
    /// set here) and returns the version number.
    @discardableResult
    public func saveModel(_ model: StoredModel) throws -> Int {
        try write { db in
            let version = (try Int.fetchOne(db, sql: "SELECT max(version) FROM trained_models WHERE name = ?",
                                            arguments: [model.name]) ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO trained_models(name, version, created_at, data_fingerprint, parameters, metrics, payload)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [model.name, version, Timestamps.nowMillis(), model.dataFingerprint, model.parameters,
                                 model.metrics, model.payload])
            return version
        }
    }

    /// A model version with its weights: `version`, or the latest when nil. Nil when there is none.
    public func model(named name: String, version: Int? = nil) throws -> StoredModel? {
        try read { db in
            let row: Row?
            if let version {
                row = try Row.fetchOne(db, sql: "SELECT * FROM trained_models WHERE name = ? AND version = ?", arguments: [name, version])
            } else {
                row = try Row.fetchOne(db, sql: "SELECT * FROM trained_models WHERE name = ? ORDER BY version DESC LIMIT 1", arguments: [name])
            }
            return row.map { Self.storedModel(from: $0, withPayload: true) }
        }
    }

    /// Every saved version, without weights, by name then version.
    public func models() throws -> [StoredModel] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT name, version, created_at, data_fingerprint, parameters, metrics, length(payload) AS payload_bytes
                FROM trained_models ORDER BY name, version
                """).map { Self.storedModel(from: $0, withPayload: false) }
        }
    }

    /// Size in bytes of each saved version's weights, keyed "name@version" (for listings).
    public func modelPayloadSizes() throws -> [String: Int] {
        try read { db in
            var sizes: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, version, ifnull(length(payload), 0) FROM trained_models") {
                sizes["\(row[0] as String)@\(row[1] as Int)"] = row[2]
            }
            return sizes
        }
    }

    static func storedModel(from row: Row, withPayload: Bool) -> StoredModel {
        StoredModel(name: row["name"], version: row["version"], createdAtMillis: row["created_at"],
                    dataFingerprint: row["data_fingerprint"], parameters: row["parameters"], metrics: row["metrics"],
                    payload: withPayload ? row["payload"] : nil)
    }
}
