import CuratorCore
import Foundation
import GRDB

/// Every row of a store, ids included, in a form either store can read and write: what
/// `curator store copy` moves from SQLite to PostgreSQL and back. Ids are kept so that the copy
/// has the same products in the same order, the same event ids (splits refer to them) and the
/// same data fingerprint; the pseudonym secret (or its fingerprint) goes with the shoppers'
/// pseudonyms, so the copy answers every shopper as the original did.
public struct StoreSnapshot: Sendable {
    public struct ProductRow: Sendable, Equatable {
        public var id: Int64, key: String, title: String, description: String, brand: String, category: String
        public var price: String?, inStock: Bool, deleted: Bool, updatedAt: Int64
        public init(id: Int64, key: String, title: String, description: String, brand: String, category: String, price: String?,
                    inStock: Bool, deleted: Bool, updatedAt: Int64) {
            (self.id, self.key, self.title, self.description, self.brand, self.category) = (id, key, title, description, brand, category)
            (self.price, self.inStock, self.deleted, self.updatedAt) = (price, inStock, deleted, updatedAt)
        }
    }
    public struct ShopperRow: Sendable, Equatable {
        public var id: Int64, key: String, createdAt: Int64, lastSeen: Int64
        public init(id: Int64, key: String, createdAt: Int64, lastSeen: Int64) { (self.id, self.key, self.createdAt, self.lastSeen) = (id, key, createdAt, lastSeen) }
    }
    public struct EventRow: Sendable, Equatable {
        public var id: Int64, shopperID: Int64, productID: Int64, type: Int16, timestamp: Int64, quantity: Int64?, price: String?
        public init(id: Int64, shopperID: Int64, productID: Int64, type: Int16, timestamp: Int64, quantity: Int64?, price: String?) {
            (self.id, self.shopperID, self.productID, self.type, self.timestamp, self.quantity, self.price) = (id, shopperID, productID, type, timestamp, quantity, price)
        }
    }
    public struct EmbeddingRow: Sendable, Equatable {
        public var modelID: String, hash: String, dimension: Int32, vector: [UInt8]
        public init(modelID: String, hash: String, dimension: Int32, vector: [UInt8]) {
            (self.modelID, self.hash, self.dimension, self.vector) = (modelID, hash, dimension, vector)
        }
    }
    public struct ModelRow: Sendable, Equatable {
        public var id: Int64, name: String, version: Int32, createdAt: Int64, dataFingerprint: String, parameters: String, metrics: String
        public var payload: [UInt8]?
        public init(id: Int64, name: String, version: Int32, createdAt: Int64, dataFingerprint: String, parameters: String, metrics: String, payload: [UInt8]?) {
            (self.id, self.name, self.version, self.createdAt, self.dataFingerprint) = (id, name, version, createdAt, dataFingerprint)
            (self.parameters, self.metrics, self.payload) = (parameters, metrics, payload)
        }
    }
    public struct SplitRow: Sendable, Equatable {
        public var id: Int64, name: String, kind: String, parameters: String, dataFingerprint: String, createdAt: Int64
        public init(id: Int64, name: String, kind: String, parameters: String, dataFingerprint: String, createdAt: Int64) {
            (self.id, self.name, self.kind, self.parameters, self.dataFingerprint, self.createdAt) = (id, name, kind, parameters, dataFingerprint, createdAt)
        }
    }
    public struct SplitEventRow: Sendable, Equatable {
        public var splitID: Int64, eventID: Int64, part: String
        public init(splitID: Int64, eventID: Int64, part: String) { (self.splitID, self.eventID, self.part) = (splitID, eventID, part) }
    }
    public struct EvaluationRow: Sendable, Equatable {
        public var id: Int64, createdAt: Int64, report: String
        public init(id: Int64, createdAt: Int64, report: String) { (self.id, self.createdAt, self.report) = (id, createdAt, report) }
    }

    /// `store_meta`: the pseudonym secret or its fingerprint, the language model.
    public var meta: [String: [UInt8]] = [:]
    public var products: [ProductRow] = []
    public var shoppers: [ShopperRow] = []
    public var events: [EventRow] = []
    public var embeddings: [EmbeddingRow] = []
    public var models: [ModelRow] = []
    public var splits: [SplitRow] = []
    public var splitEvents: [SplitEventRow] = []
    public var evaluations: [EvaluationRow] = []

    public init() {}

    /// What a copy refuses to overwrite: a target that already holds data.
    public var isEmpty: Bool { products.isEmpty && shoppers.isEmpty && events.isEmpty && models.isEmpty && splits.isEmpty }

    /// How much it holds, for a copy's report.
    public var summary: String {
        "\(products.count) products, \(shoppers.count) shoppers, \(events.count) events, \(embeddings.count) vectors, "
            + "\(models.count) model versions, \(splits.count) splits, \(evaluations.count) evaluations"
    }
}

extension CuratorStore {
    /// Every row, in one read transaction.
    public func snapshot() throws -> StoreSnapshot {
        try read { db in
            var s = StoreSnapshot()
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM store_meta") { s.meta[row[0]] = [UInt8](row[1] as Data) }
            s.products = try Row.fetchAll(db, sql: """
                SELECT id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at FROM products ORDER BY id
                """).map { .init(id: $0[0], key: $0[1], title: $0[2], description: $0[3], brand: $0[4], category: $0[5], price: $0[6],
                                 inStock: $0[7], deleted: $0[8], updatedAt: $0[9]) }
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
                    INSERT INTO products(id, product_key, title, description, brand, category, price, in_stock, deleted, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [p.id, p.key, p.title, p.description, p.brand, p.category, p.price, p.inStock, p.deleted, p.updatedAt])
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
        }
    }
}
