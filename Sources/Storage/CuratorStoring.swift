import CuratorCore
import Foundation

/// What the engine, the server and the CLI need from a store, whichever engine keeps it: the
/// embedded SQLite file (`SQLiteStore`) or a PostgreSQL database shared by several servers
/// (`PostgresStore`). Both keep the same rules: a batch commits whole or not at all, an event
/// identical to a stored one counts once, shoppers are kept only under their pseudonyms.
///
/// Async because a shared database is a network away; every call is one transaction.
public protocol CuratorStoring: AnyObject, Sendable {
    /// The store as a person names it: a file path, or a URL with its password masked.
    var name: String { get }
    /// Where files that belong beside the store go (`STORE.hnsw`), or nil when the store is not a
    /// file (then such files are not kept, or are named by an option).
    var sideFilePath: String? { get }
    /// Maps the shop's shopper ids to the keys stored here (see `PseudonymSecret`).
    var pseudonymizer: ShopperPseudonymizer { get }
    /// True when the secret was given from outside (file or environment) rather than read from the store.
    var pseudonymSecretIsExternal: Bool { get }
    /// Identifies the secret in use without revealing it (safe to print or log).
    var pseudonymSecretFingerprint: String { get }

    // Catalogue
    func product(id: String) async throws -> Product?
    /// Every live product with its row id, in row-id order.
    func allProducts() async throws -> [(rowID: Int64, product: Product)]
    func productCount(withEmptyTitle: Bool) async throws -> Int
    /// Inserts or updates products by id (cleaned as imports clean them); returns what is stored now.
    func upsertProducts(_ products: [Product]) async throws -> [(rowID: Int64, product: Product)]
    /// Marks a product deleted (its events stay); false when there is no such live product.
    func deleteProduct(id: String) async throws -> Bool
    func deletedProductRowIDs() async throws -> [Int64]

    // Events and shoppers
    /// Stores a batch all or none: a batch naming an unknown product is refused whole, with problems.
    func appendEvents(_ events: [Event]) async throws -> AppendedEvents
    /// A shopper's events, oldest first; only the newest `newest` when given.
    func events(forShopID shopID: String, newest: Int?) async throws -> [StoredEvent]
    func interactionLog() async throws -> InteractionLog
    func productEventCounts() async throws -> [(productID: String, type: EventType, count: Int)]
    func eventTotals() async throws -> (counts: [EventType: Int], shoppers: Int)
    func shopperSummary(shopID: String, recent: Int) async throws -> (counts: [EventType: Int], recent: [StoredEvent])?
    func recentShoppers(limit: Int) async throws -> [ShopperOverview]

    // The pseudonym secret
    func pseudonymSecretLocation() async throws -> PseudonymSecretLocation
    func storedPseudonymSecret() async throws -> PseudonymSecret
    func removeStoredPseudonymSecret() async throws

    // Embeddings and the store's language model
    func cachedEmbeddings(modelID: String, hashes: [String]) async throws -> [String: [Float]]
    /// Calls `body` with every cached vector of `modelID` (its text hash and raw little-endian Float32 bytes).
    func scanEmbeddings(modelID: String, _ body: (String, UnsafeRawBufferPointer) throws -> Void) async throws
    func saveEmbeddings(modelID: String, _ vectors: [(hash: String, vector: [Float])]) async throws
    func languageModel() async throws -> String?
    func recordLanguageModel(_ model: String) async throws

    // Splits, trained models, evaluations
    /// Changes whenever the stored events change (compared by splits and trained models).
    func dataFingerprint() async throws -> String
    func saveSplit(_ split: StoredSplit) async throws
    func split(named name: String) async throws -> StoredSplit?
    /// Saves a new version of `model.name`; returns its version number.
    func saveModel(_ model: StoredModel) async throws -> Int
    /// A saved model with its payload: `version`, else the newest.
    func model(named name: String, version: Int?) async throws -> StoredModel?
    /// Every saved model version, without payloads.
    func models() async throws -> [StoredModel]
    func modelPayloadSizes() async throws -> [String: Int]
    func saveEvaluation(json: String) async throws
    func latestEvaluation() async throws -> (createdAtMillis: Int64, json: String)?
    func statistics() async throws -> StoreStatistics

    // Bulk imports: one file, one transaction.
    func importProducts(from path: String, options: ImportOptions) async throws -> ImportReport
    func importEvents(from path: String, options: ImportOptions) async throws -> ImportReport

    // Following the writes of other servers (`StoreChange`)
    /// True when other servers may write to this store while this one serves it (PostgreSQL):
    /// then a server follows `changes(after:limit:)`. A SQLite file has one server.
    var isShared: Bool { get }
    /// What this process writes into the change log as its own, so it can tell its writes apart.
    var origin: String { get }
    /// The changes committed after `sequence`, oldest first (none for a store that is not shared).
    func changes(after sequence: Int64, limit: Int) async throws -> [StoreChange]
    /// `productEventCounts()` with the change-log position it is exact at (one snapshot), so a
    /// follower starting there counts every later event once.
    func productEventCountsAndPosition() async throws -> (counts: [(productID: String, type: EventType, count: Int)], position: Int64)
    /// The live products among `keys`, with their row ids (a deleted or unknown key is left out).
    func storedProducts(keys: [String]) async throws -> [(rowID: Int64, product: Product)]
    /// The product and type of each stored event among `ids`.
    func eventSummaries(ids: [Int64]) async throws -> [(productID: String, type: EventType)]
    /// Calls `ring` soon after another process commits a change (and after a lost connection
    /// comes back, since changes may have been missed meanwhile); nothing for a store that is not shared.
    func notifyOnChanges(_ ring: @escaping @Sendable () -> Void)

    /// Ends the store's background work (a shared store's connection pool and listener); calls
    /// after it fail. A server's application does it last, after the routes and followers stopped.
    func close() async

    // Copying a whole store (`curator store copy`)
    /// Every row, ids included, read in one transaction.
    func snapshot() async throws -> StoreSnapshot
    /// Writes a snapshot into this store, which must hold no data, in one transaction.
    func restore(_ snapshot: StoreSnapshot) async throws
}

/// One committed write in a shared store's change log. Sequence numbers are gapless and in
/// commit order, so a follower applies each exactly once by applying them in order.
public struct StoreChange: Sendable, Equatable {
    public enum Kind: Int16, Sendable {
        /// Products upserted or deleted: `productKeys`.
        case products = 1
        /// Events stored (new ones only): `eventIDs`.
        case events = 2
        /// A model version saved.
        case model = 3
        /// A bulk import: anything may have changed.
        case bulk = 4
    }

    public var sequence: Int64
    public var kind: Kind
    public var productKeys: [String]
    public var eventIDs: [Int64]
    /// The `origin` of the process that wrote it.
    public var origin: String

    public init(sequence: Int64, kind: Kind, productKeys: [String] = [], eventIDs: [Int64] = [], origin: String) {
        self.sequence = sequence
        self.kind = kind
        self.productKeys = productKeys
        self.eventIDs = eventIDs
        self.origin = origin
    }
}

extension CuratorStoring {
    /// The stored key for a shop's shopper id.
    public func shopperKey(for shopID: String) -> String { pseudonymizer.key(forShopID: shopID) }

    public func events(forShopID shopID: String) async throws -> [StoredEvent] { try await events(forShopID: shopID, newest: nil) }
    public func model(named name: String) async throws -> StoredModel? { try await model(named: name, version: nil) }
    public func shopperSummary(shopID: String) async throws -> (counts: [EventType: Int], recent: [StoredEvent])? {
        try await shopperSummary(shopID: shopID, recent: 20)
    }
    public func importProducts(from path: String) async throws -> ImportReport { try await importProducts(from: path, options: .init()) }
    public func importEvents(from path: String) async throws -> ImportReport { try await importEvents(from: path, options: .init()) }
}

/// The embedded SQLite store (`CuratorStore`) behind the store interface. Reads run where they are
/// called, as before; writes run on one thread of their own, so a transaction never holds a
/// thread of Swift's cooperative pool (two on a small machine) while it waits for SQLite's lock.
public final class SQLiteStore: CuratorStoring {
    public let database: CuratorStore
    /// One writer thread for every SQLite store of the process: SQLite takes one writer at a time anyway.
    private static let writes = WorkerLane(name: "curator-sqlite-writes")

    public init(_ database: CuratorStore) { self.database = database }

    /// Opens (creating and migrating as needed) the store file at `path`.
    public convenience init(path: String, secret: PseudonymSecretSource = .environment) throws {
        self.init(try CuratorStore(path: path, secret: secret))
    }

    public var name: String { database.path }
    public var sideFilePath: String? { database.path }
    public var pseudonymizer: ShopperPseudonymizer { database.pseudonymizer }
    public var pseudonymSecretIsExternal: Bool { database.pseudonymSecretIsExternal }
    public var pseudonymSecretFingerprint: String { database.pseudonymSecretFingerprint }

    private func write<T: Sendable>(_ body: @escaping @Sendable (CuratorStore) throws -> T) async throws -> T {
        try await Self.writes.run { [database] in try body(database) }
    }

    public func product(id: String) throws -> Product? { try database.product(id: id) }
    public func allProducts() throws -> [(rowID: Int64, product: Product)] { try database.allProducts() }
    public func productCount(withEmptyTitle: Bool) throws -> Int { try database.productCount(withEmptyTitle: withEmptyTitle) }
    public func upsertProducts(_ products: [Product]) async throws -> [(rowID: Int64, product: Product)] {
        try await write { try $0.upsertProducts(products) }
    }
    public func deleteProduct(id: String) async throws -> Bool { try await write { try $0.deleteProduct(id: id) } }
    public func deletedProductRowIDs() throws -> [Int64] { try database.deletedProductRowIDs() }

    public func appendEvents(_ events: [Event]) async throws -> AppendedEvents { try await write { try $0.appendEvents(events) } }
    public func events(forShopID shopID: String, newest: Int?) throws -> [StoredEvent] {
        try database.events(forShopID: shopID, newest: newest)
    }
    public func interactionLog() throws -> InteractionLog { try database.interactionLog() }
    public func productEventCounts() throws -> [(productID: String, type: EventType, count: Int)] { try database.productEventCounts() }
    public func eventTotals() throws -> (counts: [EventType: Int], shoppers: Int) { try database.eventTotals() }
    public func shopperSummary(shopID: String, recent: Int) throws -> (counts: [EventType: Int], recent: [StoredEvent])? {
        try database.shopperSummary(shopID: shopID, recent: recent)
    }
    public func recentShoppers(limit: Int) throws -> [ShopperOverview] { try database.recentShoppers(limit: limit) }

    public func pseudonymSecretLocation() throws -> PseudonymSecretLocation { try database.pseudonymSecretLocation() }
    public func storedPseudonymSecret() throws -> PseudonymSecret { try database.storedPseudonymSecret() }
    public func removeStoredPseudonymSecret() async throws { try await write { try $0.removeStoredPseudonymSecret() } }

    public func cachedEmbeddings(modelID: String, hashes: [String]) throws -> [String: [Float]] {
        try database.cachedEmbeddings(modelID: modelID, hashes: hashes)
    }
    public func scanEmbeddings(modelID: String, _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        try database.scanEmbeddings(modelID: modelID, body)
    }
    public func saveEmbeddings(modelID: String, _ vectors: [(hash: String, vector: [Float])]) async throws {
        try await write { try $0.saveEmbeddings(modelID: modelID, vectors) }
    }
    public func languageModel() throws -> String? { try database.languageModel() }
    public func recordLanguageModel(_ model: String) async throws { try await write { try $0.recordLanguageModel(model) } }

    public func dataFingerprint() throws -> String { try database.dataFingerprint() }
    public func saveSplit(_ split: StoredSplit) async throws { try await write { try $0.saveSplit(split) } }
    public func split(named name: String) throws -> StoredSplit? { try database.split(named: name) }
    public func saveModel(_ model: StoredModel) async throws -> Int { try await write { try $0.saveModel(model) } }
    public func model(named name: String, version: Int?) throws -> StoredModel? { try database.model(named: name, version: version) }
    public func models() throws -> [StoredModel] { try database.models() }
    public func modelPayloadSizes() throws -> [String: Int] { try database.modelPayloadSizes() }
    public func saveEvaluation(json: String) async throws { try await write { try $0.saveEvaluation(json: json) } }
    public func latestEvaluation() throws -> (createdAtMillis: Int64, json: String)? { try database.latestEvaluation() }
    public func statistics() throws -> StoreStatistics { try database.statistics() }

    public func importProducts(from path: String, options: ImportOptions) async throws -> ImportReport {
        try await write { try $0.importProducts(from: path, options: options) }
    }
    public func importEvents(from path: String, options: ImportOptions) async throws -> ImportReport {
        try await write { try $0.importEvents(from: path, options: options) }
    }

    // One server per file: there is no one else's change to follow.
    public var isShared: Bool { false }
    public var origin: String { database.path }
    public func changes(after sequence: Int64, limit: Int) -> [StoreChange] { [] }
    public func productEventCountsAndPosition() throws -> (counts: [(productID: String, type: EventType, count: Int)], position: Int64) {
        (try database.productEventCounts(), 0)
    }
    public func storedProducts(keys: [String]) throws -> [(rowID: Int64, product: Product)] { try database.storedProducts(keys: keys) }
    public func eventSummaries(ids: [Int64]) throws -> [(productID: String, type: EventType)] { try database.eventSummaries(ids: ids) }
    public func notifyOnChanges(_ ring: @escaping @Sendable () -> Void) {}

    /// Nothing runs in the background; the file is closed when the store is released.
    public func close() async {}

    public func snapshot() throws -> StoreSnapshot { try database.snapshot() }
    public func restore(_ snapshot: StoreSnapshot) async throws { try await write { try $0.restore(snapshot) } }
}
