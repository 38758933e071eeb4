import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// The online loop's tables (`OnlineLogStore`) in PostgreSQL: the SQLite store's tables and rules.
extension PostgresStore {
    public func saveOnlineLog(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent]) async throws {
        guard !(lists.isEmpty && seen.isEmpty && attributed.isEmpty) else { return }
        try await inTransaction("storing the online log") { [self] connection in
            try await Self.insert(lists: lists, seen: seen, attributed: attributed, on: connection, logger: logger)
        }
    }

    /// One statement per table, the columns as arrays.
    static func insert(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent], on connection: PostgresConnection,
                       logger: Logger) async throws {
        if !lists.isEmpty {
            try await connection.query("""
                INSERT INTO served_lists(id, shopper_key, surface, model, model_version, experiment, variant, products, teams, served_at)
                SELECT id, CASE WHEN hs THEN s END, sf, m, CASE WHEN hv THEN v END, CASE WHEN he THEN e END, CASE WHEN hvn THEN vn END,
                       p, CASE WHEN ht THEN t END, at
                FROM unnest(\(lists.map(\.id))::text[], \(lists.map { $0.shopperKey ?? "" })::text[], \(lists.map { $0.shopperKey != nil })::boolean[],
                            \(lists.map(\.surface.code))::smallint[], \(lists.map(\.model))::text[],
                            \(lists.map { Int32($0.modelVersion ?? 0) })::integer[], \(lists.map { $0.modelVersion != nil })::boolean[],
                            \(lists.map { $0.experiment ?? "" })::text[], \(lists.map { $0.experiment != nil })::boolean[],
                            \(lists.map { $0.variant ?? "" })::text[], \(lists.map { $0.variant != nil })::boolean[],
                            \(lists.map(\.packedProductIDs))::text[], \(lists.map { ByteBuffer(bytes: $0.teams ?? []) })::bytea[],
                            \(lists.map { $0.teams != nil })::boolean[], \(lists.map(\.servedAtMillis))::bigint[])
                     AS r(id, s, hs, sf, m, v, hv, e, he, vn, hvn, p, t, ht, at)
                ON CONFLICT (id) DO NOTHING
                """, logger: logger)
        }
        if !seen.isEmpty {
            try await connection.query("""
                INSERT INTO seen_items(recommendation_id, positions, at)
                SELECT * FROM unnest(\(seen.map(\.recommendationID))::text[], \(seen.map { OnlinePacking.positions($0.positions) })::text[],
                                     \(seen.map(\.atMillis))::bigint[])
                """, logger: logger)
        }
        if !attributed.isEmpty {
            try await connection.query("""
                INSERT INTO attributed_events(recommendation_id, shopper_key, product_key, type, quantity, price, at)
                SELECT r, s, p, t, CASE WHEN hq THEN q END, CASE WHEN hp THEN pr END, at
                FROM unnest(\(attributed.map(\.recommendationID))::text[], \(attributed.map(\.shopperKey))::text[],
                            \(attributed.map(\.productID))::text[], \(attributed.map { Int16($0.type.code) })::smallint[],
                            \(attributed.map { $0.quantity ?? 0 })::bigint[], \(attributed.map { $0.quantity != nil })::boolean[],
                            \(attributed.map { $0.price ?? "" })::text[], \(attributed.map { $0.price != nil })::boolean[],
                            \(attributed.map(\.atMillis))::bigint[])
                     AS x(r, s, p, t, q, hq, pr, hp, at)
                """, logger: logger)
        }
    }

    private typealias ListRow = (String, String?, Int16, String, Int32?, String?, String?, String, ByteBuffer?, Int64)
    private static let listColumns = "id, shopper_key, surface, model, model_version, experiment, variant, products, teams, served_at"

    private static func servedList(_ row: ListRow) throws -> ServedList {
        guard let surface = Surface(code: row.2) else { throw CuratorError.storage("served list \(row.0): unknown surface code \(row.2)") }
        return ServedList(id: row.0, shopperKey: row.1, surface: surface, model: row.3, modelVersion: row.4.map(Int.init), experiment: row.5,
                          variant: row.6, productIDs: ServedList.unpack(productIDs: row.7), teams: row.8.map { Array(buffer: $0) }, servedAtMillis: row.9)
    }

    private func lists(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [ServedList] {
        var out: [ServedList] = []
        for try await row in try await connection.query(query, logger: logger).decode(ListRow.self) { out.append(try Self.servedList(row)) }
        return out
    }

    public func servedList(id: String) async throws -> ServedList? {
        try await withConnection("reading a served list") { [self] connection in
            try await lists("SELECT \(unescaped: Self.listColumns) FROM served_lists WHERE id = \(id)", on: connection).first
        }
    }

    public func servedLists(shopperKeys: [String], sinceMillis: Int64) async throws -> [ServedList] {
        let keys = Array(Set(shopperKeys))
        return try await withConnection("reading shoppers' served lists") { [self] connection in
            try await lists("""
                SELECT \(unescaped: Self.listColumns) FROM served_lists WHERE shopper_key = ANY(\(keys)) AND served_at >= \(sinceMillis) ORDER BY served_at DESC
                """, on: connection)
        }
    }

    public func onlineLog(fromMillis: Int64, untilMillis: Int64) async throws -> OnlineLogSlice {
        try await inTransaction("reading the online log", deadline: nil) { [self] connection in
            try await onlineLog(fromMillis: fromMillis, untilMillis: untilMillis, on: connection)
        }
    }

    func onlineLog(fromMillis: Int64, untilMillis: Int64, on connection: PostgresConnection) async throws -> OnlineLogSlice {
        var slice = OnlineLogSlice()
        slice.lists = try await lists("""
            SELECT \(unescaped: Self.listColumns) FROM served_lists WHERE served_at >= \(fromMillis) AND served_at < \(untilMillis) ORDER BY served_at
            """, on: connection)
        for try await (id, positions, at) in try await connection.query("""
            SELECT s.recommendation_id, s.positions, s.at FROM seen_items s JOIN served_lists l ON l.id = s.recommendation_id
            WHERE l.served_at >= \(fromMillis) AND l.served_at < \(untilMillis)
            """, logger: logger).decode((String, String, Int64).self) {
            slice.seen.append(SeenReport(recommendationID: id, positions: OnlinePacking.positions(positions), atMillis: at))
        }
        for try await (id, shopper, product, type, quantity, price, at) in try await connection.query("""
            SELECT a.recommendation_id, a.shopper_key, a.product_key, a.type, a.quantity, a.price, a.at
            FROM attributed_events a JOIN served_lists l ON l.id = a.recommendation_id WHERE l.served_at >= \(fromMillis) AND l.served_at < \(untilMillis)
            """, logger: logger).decode((String, String, String, Int16, Int64?, String?, Int64).self) {
            guard let type = EventType(code: Int(type)) else { continue }
            slice.attributed.append(AttributedEvent(recommendationID: id, shopperKey: shopper, productID: product, type: type, quantity: quantity,
                                                    price: price, atMillis: at))
        }
        return slice
    }

    public func pruneOnlineLog(before millis: Int64) async throws -> Int {
        try await inTransaction("pruning the online log", deadline: nil) { [self] connection in
            try await connection.query("DELETE FROM seen_items WHERE recommendation_id IN (SELECT id FROM served_lists WHERE served_at < \(millis))", logger: logger)
            try await connection.query("DELETE FROM attributed_events WHERE recommendation_id IN (SELECT id FROM served_lists WHERE served_at < \(millis))",
                                       logger: logger)
            var removed = 0
            for try await n in try await connection.query("WITH gone AS (DELETE FROM served_lists WHERE served_at < \(millis) RETURNING 1) SELECT count(*) FROM gone",
                                                          logger: logger).decode(Int64.self) {
                removed = Int(n)
            }
            // Reports and attributions naming no stored list (an unknown id) go by their own age.
            try await connection.query("DELETE FROM seen_items WHERE at < \(millis)", logger: logger)
            try await connection.query("DELETE FROM attributed_events WHERE at < \(millis)", logger: logger)
            return removed
        }
    }

    public func servedListFootprint() async throws -> (bytes: Int, lists: Int) {
        try await withConnection("measuring the served lists", deadline: nil) { [self] connection in
            var result = (bytes: 0, lists: 0)
            for try await (bytes, lists) in try await connection.query(
                "SELECT pg_table_size('served_lists'), (SELECT count(*) FROM served_lists)", logger: logger
            ).decode((Int64, Int64).self) {
                result = (Int(bytes), Int(lists))
            }
            return result
        }
    }

    public func createExperiment(_ experiment: Experiment) async throws -> Bool {
        try await inTransaction("starting experiment '\(experiment.name)'") { [self] connection in
            try await Self.insert(experiment, orIgnore: true, on: connection, logger: logger)
        }
    }

    /// One experiment's row; `orIgnore`: nothing when its name is taken or its surface busy.
    /// Returns whether it was stored.
    @discardableResult
    static func insert(_ experiment: Experiment, orIgnore: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var stored = false
        for try await _ in try await connection.query("""
            INSERT INTO experiments(name, surface, method, variants, started_at, stopped_at)
            VALUES (\(experiment.name), \(experiment.surface.code), \(experiment.method.rawValue), \(try CuratorJSON.text(experiment.variants)),
                    \(experiment.startedAtMillis), \(experiment.stoppedAtMillis))
            \(unescaped: orIgnore ? "ON CONFLICT DO NOTHING" : "") RETURNING 1
            """, logger: logger).decode(Int32.self) {
            stored = true
        }
        return stored
    }

    public func experiments() async throws -> [Experiment] {
        try await withConnection("reading experiments") { [self] connection in try await experiments(on: connection) }
    }

    func experiments(on connection: PostgresConnection) async throws -> [Experiment] {
        var out: [Experiment] = []
        for try await (name, surface, method, variants, started, stopped) in try await connection.query(
            "SELECT name, surface, method, variants, started_at, stopped_at FROM experiments ORDER BY started_at, name", logger: logger
        ).decode((String, Int16, String, String, Int64, Int64?).self) {
            out.append(try OnlinePacking.experiment(name: name, surface: surface, method: method, variants: variants, startedAt: started, stoppedAt: stopped))
        }
        return out
    }

    public func stopExperiment(named name: String, atMillis: Int64) async throws -> Bool {
        try await inTransaction("stopping experiment '\(name)'") { [self] connection in
            var stopped = false
            for try await _ in try await connection.query(
                "UPDATE experiments SET stopped_at = \(atMillis) WHERE name = \(name) AND stopped_at IS NULL RETURNING 1", logger: logger
            ).decode(Int32.self) {
                stopped = true
            }
            return stopped
        }
    }

    static func insert(experiments: [Experiment], on connection: PostgresConnection, logger: Logger) async throws {
        for experiment in experiments { try await insert(experiment, orIgnore: false, on: connection, logger: logger) }
    }
}
