import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// A whole PostgreSQL store read into, or written from, a `StoreSnapshot` (`curator store copy`).
extension PostgresStore {
    public func snapshot() async throws -> StoreSnapshot {
        try await withConnection("reading the whole store", deadline: nil) { [self] connection in
            // One consistent view of every table.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var s = StoreSnapshot()
                for try await (key, value) in try await connection.query("SELECT key, value FROM store_meta", logger: logger)
                    .decode((String, ByteBuffer).self) {
                    s.meta[key] = Array(buffer: value)
                }
                for try await (id, key, title, description, brand, category, price, inStock, deleted, updatedAt, addedAt) in try await connection.query("""
                    SELECT id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at FROM products ORDER BY id
                    """, logger: logger).decode((Int64, String, String, String, String, String, String?, Bool, Bool, Int64, Int64?).self) {
                    s.products.append(.init(id: id, key: key, title: title, description: description, brand: brand, category: category,
                                            price: price, inStock: inStock, deleted: deleted, updatedAt: updatedAt, addedAt: addedAt))
                }
                for try await (id, key, created, lastSeen) in try await connection.query(
                    "SELECT id, shopper_key, created_at, last_seen FROM shoppers ORDER BY id", logger: logger
                ).decode((Int64, String, Int64, Int64).self) {
                    s.shoppers.append(.init(id: id, key: key, createdAt: created, lastSeen: lastSeen))
                }
                for try await (id, shopper, product, type, ts, quantity, price) in try await connection.query(
                    "SELECT id, shopper_id, product_id, type, ts, quantity, price FROM events ORDER BY id", logger: logger
                ).decode((Int64, Int64, Int64, Int16, Int64, Int64?, String?).self) {
                    s.events.append(.init(id: id, shopperID: shopper, productID: product, type: type, timestamp: ts, quantity: quantity, price: price))
                }
                for try await (model, hash, dimension, vector) in try await connection.query(
                    "SELECT model_id, text_hash, dimension, vector FROM embeddings ORDER BY model_id, text_hash", logger: logger
                ).decode((String, String, Int32, ByteBuffer).self) {
                    s.embeddings.append(.init(modelID: model, hash: hash, dimension: dimension, vector: Array(buffer: vector)))
                }
                for try await (id, name, version, created, fingerprint, parameters, metrics, payload) in try await connection.query("""
                    SELECT id, name, version, created_at, data_fingerprint, parameters, metrics, payload FROM trained_models ORDER BY id
                    """, logger: logger).decode((Int64, String, Int32, Int64, String, String, String, ByteBuffer?).self) {
                    s.models.append(.init(id: id, name: name, version: version, createdAt: created, dataFingerprint: fingerprint,
                                          parameters: parameters, metrics: metrics, payload: payload.map { Array(buffer: $0) }))
                }
                for try await (id, name, kind, parameters, fingerprint, created) in try await connection.query(
                    "SELECT id, name, kind, parameters, data_fingerprint, created_at FROM splits ORDER BY id", logger: logger
                ).decode((Int64, String, String, String, String, Int64).self) {
                    s.splits.append(.init(id: id, name: name, kind: kind, parameters: parameters, dataFingerprint: fingerprint, createdAt: created))
                }
                for try await (split, event, part) in try await connection.query(
                    "SELECT split_id, event_id, part FROM split_events ORDER BY split_id, event_id", logger: logger
                ).decode((Int64, Int64, String).self) {
                    s.splitEvents.append(.init(splitID: split, eventID: event, part: part))
                }
                for try await (id, created, report) in try await connection.query(
                    "SELECT id, created_at, report FROM evaluations ORDER BY id", logger: logger
                ).decode((Int64, Int64, String).self) {
                    s.evaluations.append(.init(id: id, createdAt: created, report: report))
                }
                s.onlineLog = try await onlineLog(fromMillis: .min, untilMillis: .max, on: connection)
                s.experiments = try await experiments(on: connection)
                for try await key in try await connection.query(
                    "SELECT shopper_key FROM shopper_preferences WHERE NOT personalised ORDER BY shopper_key", logger: logger
                ).decode(String.self) {
                    s.withoutPersonalisation.append(key)
                }
                s.merchandisingRules = try await merchandisingRules(on: connection)
                try await connection.query("COMMIT", logger: logger)
                return s
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func restore(_ snapshot: StoreSnapshot) async throws {
        try await inTransaction("copying into the store", deadline: nil) { [self] connection in
            var held: Int64 = 0
            for try await n in try await connection.query("""
                SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM shoppers) + (SELECT count(*) FROM trained_models)
                       + (SELECT count(*) FROM splits)
                """, logger: logger).decode(Int64.self) {
                held = n
            }
            guard held == 0 else { throw CuratorError.configuration("\(name) already holds data; copy into a new, empty store") }
            try await connection.query("DELETE FROM store_meta", logger: logger)
            for (key, value) in snapshot.meta.sorted(by: { $0.key < $1.key }) {
                try await connection.query("INSERT INTO store_meta(key, value) VALUES (\(key), \(ByteBuffer(bytes: value)))", logger: logger)
            }
            let batch = 10_000
            for start in stride(from: 0, to: snapshot.products.count, by: batch) {
                let rows = snapshot.products[start..<min(start + batch, snapshot.products.count)]
                try await connection.query("""
                    INSERT INTO products(id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at)
                    SELECT id, k, t, d, b, c, CASE WHEN hp THEN p END, s, del, u, a
                    FROM unnest(\(rows.map(\.id))::bigint[], \(rows.map(\.key))::text[], \(rows.map(\.title))::text[],
                                \(rows.map(\.description))::text[], \(rows.map(\.brand))::text[], \(rows.map(\.category))::text[],
                                \(rows.map { $0.price ?? "" })::text[], \(rows.map { $0.price != nil })::boolean[],
                                \(rows.map(\.inStock))::boolean[], \(rows.map(\.deleted))::boolean[], \(rows.map(\.updatedAt))::bigint[],
                                \(rows.map { $0.addedAt ?? $0.updatedAt })::bigint[])
                         AS r(id, k, t, d, b, c, p, hp, s, del, u, a)
                    """, logger: logger)
            }
            for start in stride(from: 0, to: snapshot.shoppers.count, by: batch) {
                let rows = snapshot.shoppers[start..<min(start + batch, snapshot.shoppers.count)]
                try await connection.query("""
                    INSERT INTO shoppers(id, shopper_key, created_at, last_seen)
                    SELECT * FROM unnest(\(rows.map(\.id))::bigint[], \(rows.map(\.key))::text[], \(rows.map(\.createdAt))::bigint[],
                                         \(rows.map(\.lastSeen))::bigint[])
                    """, logger: logger)
            }
            for start in stride(from: 0, to: snapshot.events.count, by: batch) {
                let rows = snapshot.events[start..<min(start + batch, snapshot.events.count)]
                try await connection.query("""
                    INSERT INTO events(id, shopper_id, product_id, type, ts, quantity, price)
                    SELECT id, s, p, t, ts, CASE WHEN hq THEN q END, CASE WHEN hp THEN pr END
                    FROM unnest(\(rows.map(\.id))::bigint[], \(rows.map(\.shopperID))::bigint[], \(rows.map(\.productID))::bigint[],
                                \(rows.map(\.type))::smallint[], \(rows.map(\.timestamp))::bigint[],
                                \(rows.map { $0.quantity ?? 0 })::bigint[], \(rows.map { $0.quantity != nil })::boolean[],
                                \(rows.map { $0.price ?? "" })::text[], \(rows.map { $0.price != nil })::boolean[])
                         AS r(id, s, p, t, ts, q, hq, pr, hp)
                    """, logger: logger)
            }
            for start in stride(from: 0, to: snapshot.embeddings.count, by: batch) {
                let rows = snapshot.embeddings[start..<min(start + batch, snapshot.embeddings.count)]
                try await connection.query("""
                    INSERT INTO embeddings(model_id, text_hash, dimension, vector)
                    SELECT * FROM unnest(\(rows.map(\.modelID))::text[], \(rows.map(\.hash))::text[], \(rows.map(\.dimension))::integer[],
                                         \(rows.map { ByteBuffer(bytes: $0.vector) })::bytea[])
                    """, logger: logger)
            }
            for m in snapshot.models {
                try await connection.query("""
                    INSERT INTO trained_models(id, name, version, created_at, data_fingerprint, parameters, metrics, payload)
                    VALUES (\(m.id), \(m.name), \(m.version), \(m.createdAt), \(m.dataFingerprint), \(m.parameters), \(m.metrics),
                            \(m.payload.map { ByteBuffer(bytes: $0) }))
                    """, logger: logger)
            }
            for s in snapshot.splits {
                try await connection.query("""
                    INSERT INTO splits(id, name, kind, parameters, data_fingerprint, created_at)
                    VALUES (\(s.id), \(s.name), \(s.kind), \(s.parameters), \(s.dataFingerprint), \(s.createdAt))
                    """, logger: logger)
            }
            for start in stride(from: 0, to: snapshot.splitEvents.count, by: batch * 5) {
                let rows = snapshot.splitEvents[start..<min(start + batch * 5, snapshot.splitEvents.count)]
                try await connection.query("""
                    INSERT INTO split_events(split_id, event_id, part)
                    SELECT * FROM unnest(\(rows.map(\.splitID))::bigint[], \(rows.map(\.eventID))::bigint[], \(rows.map(\.part))::text[])
                    """, logger: logger)
            }
            for e in snapshot.evaluations {
                try await connection.query("INSERT INTO evaluations(id, created_at, report) VALUES (\(e.id), \(e.createdAt), \(e.report))", logger: logger)
            }
            let log = snapshot.onlineLog
            for start in stride(from: 0, to: log.lists.count, by: batch) {
                try await Self.insert(lists: Array(log.lists[start..<min(start + batch, log.lists.count)]), seen: [], attributed: [], on: connection, logger: logger)
            }
            for start in stride(from: 0, to: log.seen.count, by: batch) {
                try await Self.insert(lists: [], seen: Array(log.seen[start..<min(start + batch, log.seen.count)]), attributed: [], on: connection, logger: logger)
            }
            for start in stride(from: 0, to: log.attributed.count, by: batch) {
                try await Self.insert(lists: [], seen: [], attributed: Array(log.attributed[start..<min(start + batch, log.attributed.count)]),
                                      on: connection, logger: logger)
            }
            try await Self.insert(experiments: snapshot.experiments, on: connection, logger: logger)
            for rule in snapshot.merchandisingRules { _ = try await Self.put(rule, on: connection, logger: logger) }
            if !snapshot.withoutPersonalisation.isEmpty {
                try await connection.query("""
                    INSERT INTO shopper_preferences(shopper_key, personalised, updated_at)
                    SELECT k, false, \(Timestamps.nowMillis()) FROM unnest(\(snapshot.withoutPersonalisation)::text[]) AS r(k)
                    """, logger: logger)
            }
            // New rows continue after the copied ids.
            for table in ["products", "shoppers", "events", "trained_models", "splits", "evaluations"] {
                try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table)', 'id'), coalesce((SELECT max(id) FROM \(table)), 0) + 1, false)
                    """), logger: logger)
            }
            try await PostgresChanges.log(.bulk, origin: origin, on: connection, logger: logger)
        }
    }
}
