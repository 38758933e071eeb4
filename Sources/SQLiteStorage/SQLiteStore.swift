import CuratorCore
import Foundation
import Storage

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
    public func shopperSummary(shopID: String, recent: Int) throws -> ShopperSummary? {
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
    public func storedProducts(rowIDs: [Int64]) throws -> [(rowID: Int64, product: Product, version: Int64)] {
        try database.storedProducts(rowIDs: rowIDs)
    }
    public func productVersions() throws -> [(rowID: Int64, version: Int64)] { try database.productVersions() }
    public func productsAdded(sinceMillis: Int64) throws -> [(productID: String, addedAtMillis: Int64)] {
        try database.productsAdded(sinceMillis: sinceMillis)
    }
    public func eventSummaries(ids: [Int64]) throws -> [EventSummary] {
        try database.eventSummaries(ids: ids)
    }
    public func notifyOnChanges(_ ring: @escaping @Sendable () -> Void) {}

    /// Nothing runs in the background; the file is closed when the store is released.
    public func close() async {}

    public func saveOnlineLog(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent]) async throws {
        try await write { try $0.saveOnlineLog(lists: lists, seen: seen, attributed: attributed) }
    }
    public func servedList(id: String) throws -> ServedList? { try database.servedList(id: id) }
    public func servedLists(shopperKeys: [String], sinceMillis: Int64) throws -> [ServedList] {
        try database.servedLists(shopperKeys: shopperKeys, sinceMillis: sinceMillis)
    }
    public func onlineLog(fromMillis: Int64, untilMillis: Int64) throws -> OnlineLogSlice {
        try database.onlineLog(fromMillis: fromMillis, untilMillis: untilMillis)
    }
    public func pruneOnlineLog(before millis: Int64) async throws -> Int { try await write { try $0.pruneOnlineLog(before: millis) } }
    public func servedListFootprint() throws -> (bytes: Int, lists: Int) { try database.servedListFootprint() }
    public func createExperiment(_ experiment: Experiment) async throws -> Bool { try await write { try $0.createExperiment(experiment) } }
    public func experiments() throws -> [Experiment] { try database.experiments() }
    public func stopExperiment(named name: String, atMillis: Int64) async throws -> Bool {
        try await write { try $0.stopExperiment(named: name, atMillis: atMillis) }
    }

    public func shoppersWithoutPersonalisation() throws -> Set<String> { try database.shoppersWithoutPersonalisation() }
    public func setPersonalised(_ personalised: Bool, shopperKey: String) async throws {
        try await write { try $0.setPersonalised(personalised, shopperKey: shopperKey) }
    }
    public func eraseShopper(shopperKey: String) async throws -> Int? { try await write { try $0.eraseShopper(shopperKey: shopperKey) } }

    public func merchandisingRules() throws -> [MerchandisingRule] { try database.merchandisingRules() }
    public func putMerchandisingRule(_ rule: MerchandisingRule) async throws -> Bool { try await write { try $0.putMerchandisingRule(rule) } }
    public func deleteMerchandisingRule(named name: String) async throws -> Bool {
        try await write { try $0.deleteMerchandisingRule(named: name) }
    }

    public func snapshot() throws -> StoreSnapshot { try database.snapshot() }
    public func restore(_ snapshot: StoreSnapshot) async throws { try await write { try $0.restore(snapshot) } }
}
