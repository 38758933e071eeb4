import CuratorCore
import Foundation
import GRDB
import Storage

/// The online loop's tables (`OnlineLogStore`) in the SQLite file.
extension CuratorStore {
    public func saveOnlineLog(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent]) throws {
        try write { db in try Self.insert(lists: lists, seen: seen, attributed: attributed, into: db) }
    }

    static func insert(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent], into db: Database) throws {
        if !lists.isEmpty {
            let statement = try db.makeStatement(sql: """
                INSERT INTO served_lists(id, shopper_key, surface, model, model_version, experiment, variant, products, teams, served_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """)
            for list in lists {
                try statement.execute(arguments: [list.id, list.shopperKey, list.surface.code, list.model, list.modelVersion, list.experiment,
                                                  list.variant, list.packedProductIDs, list.teams.map { Data($0) }, list.servedAtMillis])
            }
        }
        if !seen.isEmpty {
            let statement = try db.makeStatement(sql: "INSERT INTO seen_items(recommendation_id, positions, at) VALUES (?, ?, ?)")
            for report in seen {
                try statement.execute(arguments: [report.recommendationID, OnlinePacking.positions(report.positions), report.atMillis])
            }
        }
        if !attributed.isEmpty {
            let statement = try db.makeStatement(sql: """
                INSERT INTO attributed_events(recommendation_id, shopper_key, product_key, type, quantity, price, at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for event in attributed {
                try statement.execute(arguments: [event.recommendationID, event.shopperKey, event.productID, event.type.code, event.quantity,
                                                  event.price, event.atMillis])
            }
        }
    }

    private static let listColumns = "id, shopper_key, surface, model, model_version, experiment, variant, products, teams, served_at"

    private static func servedList(_ row: Row) throws -> ServedList {
        let code: Int16 = row[2]
        guard let surface = Surface(code: code) else { throw CuratorError.storage("served list \(row[0] as String): unknown surface code \(code)") }
        return ServedList(id: row[0], shopperKey: row[1], surface: surface, model: row[3], modelVersion: row[4], experiment: row[5], variant: row[6],
                          productIDs: ServedList.unpack(productIDs: row[7]), teams: (row[8] as Data?).map { [UInt8]($0) }, servedAtMillis: row[9])
    }

    public func servedList(id: String) throws -> ServedList? {
        try read { db in try Row.fetchOne(db, sql: "SELECT \(Self.listColumns) FROM served_lists WHERE id = ?", arguments: [id]).map(Self.servedList) }
    }

    public func servedLists(shopperKeys: [String], sinceMillis: Int64) throws -> [ServedList] {
        try read { db in
            try Set(shopperKeys).flatMap { key in
                try Row.fetchAll(db, sql: "SELECT \(Self.listColumns) FROM served_lists WHERE shopper_key = ? AND served_at >= ?",
                                 arguments: [key, sinceMillis]).map(Self.servedList)
            }.sorted { $0.servedAtMillis > $1.servedAtMillis }
        }
    }

    public func onlineLog(fromMillis: Int64, untilMillis: Int64) throws -> OnlineLogSlice {
        try read { db in try Self.onlineLog(fromMillis: fromMillis, untilMillis: untilMillis, in: db) }
    }

    static func onlineLog(fromMillis: Int64, untilMillis: Int64, in db: Database) throws -> OnlineLogSlice {
        var slice = OnlineLogSlice()
        slice.lists = try Row.fetchAll(db, sql: "SELECT \(Self.listColumns) FROM served_lists WHERE served_at >= ? AND served_at < ? ORDER BY served_at",
                                       arguments: [fromMillis, untilMillis]).map(Self.servedList)
        slice.seen = try Row.fetchAll(db, sql: """
            SELECT s.recommendation_id, s.positions, s.at FROM seen_items s JOIN served_lists l ON l.id = s.recommendation_id
            WHERE l.served_at >= ? AND l.served_at < ?
            """, arguments: [fromMillis, untilMillis]).map { SeenReport(recommendationID: $0[0], positions: OnlinePacking.positions($0[1]), atMillis: $0[2]) }
        slice.attributed = try Row.fetchAll(db, sql: """
            SELECT a.recommendation_id, a.shopper_key, a.product_key, a.type, a.quantity, a.price, a.at
            FROM attributed_events a JOIN served_lists l ON l.id = a.recommendation_id WHERE l.served_at >= ? AND l.served_at < ?
            """, arguments: [fromMillis, untilMillis]).compactMap { row in
                EventType(code: row[3]).map {
                    AttributedEvent(recommendationID: row[0], shopperKey: row[1], productID: row[2], type: $0, quantity: row[4], price: row[5], atMillis: row[6])
                }
            }
        return slice
    }

    public func pruneOnlineLog(before millis: Int64) throws -> Int {
        try write { db in
            let old = "SELECT id FROM served_lists WHERE served_at < ?"
            try db.execute(sql: "DELETE FROM seen_items WHERE recommendation_id IN (\(old))", arguments: [millis])
            try db.execute(sql: "DELETE FROM attributed_events WHERE recommendation_id IN (\(old))", arguments: [millis])
            try db.execute(sql: "DELETE FROM served_lists WHERE served_at < ?", arguments: [millis])
            let removed = db.changesCount
            // Reports and attributions naming no stored list (an unknown id) go by their own age.
            try db.execute(sql: "DELETE FROM seen_items WHERE at < ?", arguments: [millis])
            try db.execute(sql: "DELETE FROM attributed_events WHERE at < ?", arguments: [millis])
            return removed
        }
    }

    public func servedListFootprint() throws -> (bytes: Int, lists: Int) {
        try read { db in
            let lists = try Int.fetchOne(db, sql: "SELECT count(*) FROM served_lists") ?? 0
            // The table's own pages (dbstat, when SQLite was built with it), else the rows' payload.
            let pages = try? Int.fetchOne(db, sql: "SELECT sum(pgsize) FROM dbstat WHERE name = 'served_lists'")
            let payload = try Int.fetchOne(db, sql: """
                SELECT sum(length(id) + ifnull(length(shopper_key), 0) + 1 + length(model) + 2 + ifnull(length(experiment), 0)
                           + ifnull(length(variant), 0) + length(products) + ifnull(length(teams), 0) + 8) FROM served_lists
                """) ?? 0
            return (pages.flatMap { $0 } ?? payload, lists)
        }
    }

    public func createExperiment(_ experiment: Experiment) throws -> Bool {
        try write { db in
            try Self.insert(experiment, into: db, orIgnore: true)
            return db.changesCount == 1
        }
    }

    /// One experiment's row; `orIgnore`: nothing when its name is taken or its surface busy.
    static func insert(_ experiment: Experiment, into db: Database, orIgnore: Bool) throws {
        try db.execute(sql: """
            INSERT INTO experiments(name, surface, method, variants, started_at, stopped_at) VALUES (?, ?, ?, ?, ?, ?)
            \(orIgnore ? "ON CONFLICT DO NOTHING" : "")
            """, arguments: [experiment.name, experiment.surface.code, experiment.method.rawValue, try CuratorJSON.text(experiment.variants),
                             experiment.startedAtMillis, experiment.stoppedAtMillis])
    }

    public func experiments() throws -> [Experiment] { try read { db in try Self.experiments(in: db) } }

    static func experiments(in db: Database) throws -> [Experiment] {
        try Row.fetchAll(db, sql: "SELECT name, surface, method, variants, started_at, stopped_at FROM experiments ORDER BY started_at, name")
            .map { try OnlinePacking.experiment(name: $0[0], surface: $0[1], method: $0[2], variants: $0[3], startedAt: $0[4], stoppedAt: $0[5]) }
    }

    public func stopExperiment(named name: String, atMillis: Int64) throws -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE experiments SET stopped_at = ? WHERE name = ? AND stopped_at IS NULL", arguments: [atMillis, name])
            return db.changesCount == 1
        }
    }

    static func insert(experiments: [Experiment], into db: Database) throws {
        for experiment in experiments { try insert(experiment, into: db, orIgnore: false) }
    }
}
