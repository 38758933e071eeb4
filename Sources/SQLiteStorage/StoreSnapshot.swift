import CuratorCore
import Foundation
import GRDB
import Storage

extension CuratorStore {
    /// Every row, in one read transaction.
    public func snapshot() throws -> StoreSnapshot {
        try read { db in
            var s = StoreSnapshot()
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM store_meta") { s.meta[row[0]] = [UInt8](row[1] as Data) }
            s.products = try Row.fetchAll(db, sql: """
                SELECT id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at FROM products ORDER BY id
                """).map { .init(id: $0[0], key: $0[1], title: $0[2], description: $0[3], brand: $0[4], category: $0[5], price: $0[6],
                                 inStock: $0[7], deleted: $0[8], updatedAt: $0[9], addedAt: $0[10]) }
            s.shoppers = try Row.fetchAll(db, sql: "SELECT id, shopper_key, created_at, last_seen FROM shoppers ORDER BY id")
                .map { .init(id: $0[0], key: $0[1], createdAt: $0[2], lastSeen: $0[3]) }
            s.events = try Row.fetchAll(db, sql: "SELECT id, shopper_id, product_id, type, ts, quantity, price FROM events ORDER BY id")
                .map { .init(id: $0[0], shopperID: $0[1], productID: $0[2], type: $0[3], timestamp: $0[4], quantity: $0[5], price: $0[6]) }
            s.embeddings = try Row.fetchAll(db, sql: "SELECT model_id, text_hash, dimension, vector FROM embeddings ORDER BY model_id, text_hash")
                .map { .init(modelID: $0[0], hash: $0[1], dimension: $0[2], vector: [UInt8]($0[3] as Data)) }
            s.models = try Row.fetchAll(db, sql: """
                SELECT id, name, version, created_at, data_fingerprint, parameters, metrics, payload FROM trained_models ORDER BY id
                """).map { .init(id: $0[0], name: $0[1], version: $0[2], createdAt: $0[3], dataFingerprint: $0[4], parameters: $0[5],
                                 metrics: $0[6], payload: ($0[7] as Data?).map { [UInt8]($0) }) }
            s.splits = try Row.fetchAll(db, sql: "SELECT id, name, kind, parameters, data_fingerprint, created_at FROM splits ORDER BY id")
                .map { .init(id: $0[0], name: $0[1], kind: $0[2], parameters: $0[3], dataFingerprint: $0[4], createdAt: $0[5]) }
            s.splitEvents = try Row.fetchAll(db, sql: "SELECT split_id, event_id, part FROM split_events ORDER BY split_id, event_id")
                .map { .init(splitID: $0[0], eventID: $0[1], part: $0[2]) }
            s.evaluations = try Row.fetchAll(db, sql: "SELECT id, created_at, report FROM evaluations ORDER BY id")
                .map { .init(id: $0[0], createdAt: $0[1], report: $0[2]) }
            s.onlineLog = try Self.onlineLog(fromMillis: .min, untilMillis: .max, in: db)
            s.experiments = try Self.experiments(in: db)
            s.withoutPersonalisation = try String.fetchAll(db, sql: "SELECT shopper_key FROM shopper_preferences WHERE personalised = 0 ORDER BY shopper_key")
            s.merchandisingRules = try Self.merchandisingRules(in: db)
            return s
        }
    }

    /// Writes `snapshot` into this store, which must hold no data, in one transaction (its
    /// settings, the pseudonym secret included, are replaced by the snapshot's).
    public func restore(_ snapshot: StoreSnapshot) throws {
        try write { db in
            guard try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM shoppers) + (SELECT count(*) FROM trained_models)
                       + (SELECT count(*) FROM splits)
                """) == 0 else {
                throw CuratorError.configuration("\(path) already holds data; copy into a new, empty store")
            }
            try db.execute(sql: "DELETE FROM store_meta")
            for (key, value) in snapshot.meta.sorted(by: { $0.key < $1.key }) {
                // The fingerprint is kept as text, everything else as bytes, as the store writes them.
                let stored: (any DatabaseValueConvertible) = key == StoredPseudonymSecret.fingerprintKey ? String(decoding: value, as: UTF8.self) : Data(value)
                try db.execute(sql: "INSERT INTO store_meta(key, value) VALUES (?, ?)", arguments: [key, stored])
            }
            for p in snapshot.products {
                try db.execute(sql: """
                    INSERT INTO products(id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [p.id, p.key, p.title, p.description, p.brand, p.category, p.price, p.inStock, p.deleted, p.updatedAt,
                                     p.addedAt ?? p.updatedAt])
            }
            for s in snapshot.shoppers {
                try db.execute(sql: "INSERT INTO shoppers(id, shopper_key, created_at, last_seen) VALUES (?, ?, ?, ?)",
                               arguments: [s.id, s.key, s.createdAt, s.lastSeen])
            }
            let insertEvent = try db.makeStatement(sql: """
                INSERT INTO events(id, shopper_id, product_id, type, ts, quantity, price) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for e in snapshot.events {
                try insertEvent.execute(arguments: [e.id, e.shopperID, e.productID, e.type, e.timestamp, e.quantity, e.price])
            }
            for v in snapshot.embeddings {
                try db.execute(sql: "INSERT INTO embeddings(model_id, text_hash, dimension, vector) VALUES (?, ?, ?, ?)",
                               arguments: [v.modelID, v.hash, v.dimension, Data(v.vector)])
            }
            for m in snapshot.models {
                try db.execute(sql: """
                    INSERT INTO trained_models(id, name, version, created_at, data_fingerprint, parameters, metrics, payload)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [m.id, m.name, m.version, m.createdAt, m.dataFingerprint, m.parameters, m.metrics, m.payload.map { Data($0) }])
            }
            for s in snapshot.splits {
                try db.execute(sql: "INSERT INTO splits(id, name, kind, parameters, data_fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [s.id, s.name, s.kind, s.parameters, s.dataFingerprint, s.createdAt])
            }
            let insertSplitEvent = try db.makeStatement(sql: "INSERT INTO split_events(split_id, event_id, part) VALUES (?, ?, ?)")
            for a in snapshot.splitEvents { try insertSplitEvent.execute(arguments: [a.splitID, a.eventID, a.part]) }
            for e in snapshot.evaluations {
                try db.execute(sql: "INSERT INTO evaluations(id, created_at, report) VALUES (?, ?, ?)", arguments: [e.id, e.createdAt, e.report])
            }
            let log = snapshot.onlineLog
            try Self.insert(lists: log.lists, seen: log.seen, attributed: log.attributed, into: db)
            try Self.insert(experiments: snapshot.experiments, into: db)
            for key in snapshot.withoutPersonalisation {
                try db.execute(sql: "INSERT INTO shopper_preferences(shopper_key, personalised, updated_at) VALUES (?, 0, ?)",
                               arguments: [key, Timestamps.nowMillis()])
            }
            for rule in snapshot.merchandisingRules { try Self.put(rule, into: db) }
        }
    }
}
