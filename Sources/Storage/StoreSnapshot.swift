import CuratorCore
import Foundation

/// Every row of a store, ids included, in a form either store can read and write: what
/// `curator store copy` moves from SQLite to PostgreSQL and back. Ids are kept so that the copy
/// has the same products in the same order, the same event ids (splits refer to them) and the
/// same data fingerprint; the pseudonym secret (or its fingerprint) goes with the shoppers'
/// pseudonyms, so the copy answers every shopper as the original did.
public struct StoreSnapshot: Sendable {
    public struct ProductRow: Sendable, Equatable {
        public var id: Int64, key: String, title: String, description: String, brand: String, category: String
        public var price: String?, inStock: Bool, deleted: Bool, updatedAt: Int64
        /// When the product was first stored (nil from a store before rules over new products).
        public var addedAt: Int64?
        public init(id: Int64, key: String, title: String, description: String, brand: String, category: String, price: String?,
                    inStock: Bool, deleted: Bool, updatedAt: Int64, addedAt: Int64? = nil) {
            (self.id, self.key, self.title, self.description, self.brand, self.category) = (id, key, title, description, brand, category)
            (self.price, self.inStock, self.deleted, self.updatedAt, self.addedAt) = (price, inStock, deleted, updatedAt, addedAt)
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
    /// The online loop's log and experiments, as stored.
    public var onlineLog = OnlineLogSlice()
    public var experiments: [Experiment] = []
    /// Stored keys of shoppers who turned personalisation off.
    public var withoutPersonalisation: [String] = []
    public var merchandisingRules: [MerchandisingRule] = []

    public init() {}

    /// What a copy refuses to overwrite: a target that already holds data.
    public var isEmpty: Bool { products.isEmpty && shoppers.isEmpty && events.isEmpty && models.isEmpty && splits.isEmpty }

    /// How much it holds, for a copy's report.
    public var summary: String {
        "\(products.count) products, \(shoppers.count) shoppers, \(events.count) events, \(embeddings.count) vectors, "
            + "\(models.count) model versions, \(splits.count) splits, \(evaluations.count) evaluations, "
            + "\(onlineLog.lists.count) served lists, \(experiments.count) experiments, \(merchandisingRules.count) merchandising rules"
    }
}
