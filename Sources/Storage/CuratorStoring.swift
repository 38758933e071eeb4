import CuratorCore
import Foundation

/// What the engine, the server and the CLI need from a store, whichever engine keeps it: the
/// embedded SQLite file (`SQLiteStore`) or a PostgreSQL database shared by several servers
/// (`PostgresStore`). Both keep the same rules: a batch commits whole or not at all, an event
/// identical to a stored one counts once, shoppers are kept only under their pseudonyms.
///
/// Async because a shared database is a network away; every call is one transaction. The whole
/// interface is the sum of the roles below; a caller asks for the roles it uses
/// (`any CatalogueStore & EmbeddingStore`), so what it can touch is written in its signature.
public typealias CuratorStoring = StoreIdentity & CatalogueStore & EventStore & PseudonymSecretStore & EmbeddingStore
    & TrainingStore & BulkImportStore & ChangeFeed & StoreCopying & OnlineLogStore & ShopperPrivacyStore & MerchandisingRuleStore

/// What every store is: its name, where its side files go, its shoppers' pseudonyms, its lifetime.
public protocol StoreIdentity: AnyObject, Sendable {
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
    /// Ends the store's background work (a shared store's connection pool and listener); calls
    /// after it fail. A server's application does it last, after the routes and followers stopped.
    func close() async
}

/// The catalogue: products by id, upserts and deletes.
public protocol CatalogueStore: StoreIdentity {
    func product(id: String) async throws -> Product?
    /// Every live product with its row id, in row-id order.
    func allProducts() async throws -> [(rowID: Int64, product: Product)]
    func productCount(withEmptyTitle: Bool) async throws -> Int
    /// Inserts or updates products by id (cleaned as imports clean them); returns what is stored now.
    func upsertProducts(_ products: [Product]) async throws -> [(rowID: Int64, product: Product)]
    /// Marks a product deleted (its events stay); false when there is no such live product.
    func deleteProduct(id: String) async throws -> Bool
    func deletedProductRowIDs() async throws -> [Int64]
    /// The live products among `keys`, with their row ids (a deleted or unknown key is left out).
    func storedProducts(keys: [String]) async throws -> [(rowID: Int64, product: Product)]
    /// The live products among these row ids, with their versions (a deleted or unknown id is left out).
    func storedProducts(rowIDs: [Int64]) async throws -> [(rowID: Int64, product: Product, version: Int64)]
    /// Every live product's row id and version, in row-id order. The version (`updated_at`) grows
    /// with every write of the row, so a catalogue saved with its versions knows, from this
    /// list alone, which of its rows the store has changed since (`CatalogueSnapshot`).
    func productVersions() async throws -> [(rowID: Int64, version: Int64)]
    /// Products first stored at or after `sinceMillis`, with when (new-product rules).
    func productsAdded(sinceMillis: Int64) async throws -> [(productID: String, addedAtMillis: Int64)]
}

/// Behaviour: events in, histories and counts out.
public protocol EventStore: StoreIdentity {
    /// Stores a batch all or none: a batch naming an unknown product is refused whole, with problems.
    func appendEvents(_ events: [Event]) async throws -> AppendedEvents
    /// A shopper's events, oldest first; only the newest `newest` when given.
    func events(forShopID shopID: String, newest: Int?) async throws -> [StoredEvent]
    func interactionLog() async throws -> InteractionLog
    func productEventCounts() async throws -> [(productID: String, type: EventType, count: Int)]
    func eventTotals() async throws -> (counts: [EventType: Int], shoppers: Int)
    func shopperSummary(shopID: String, recent: Int) async throws -> ShopperSummary?
    func recentShoppers(limit: Int) async throws -> [ShopperOverview]
    /// The shopper, product and type of each stored event among `ids`, and whether it counts toward popularity.
    func eventSummaries(ids: [Int64]) async throws -> [EventSummary]
    func statistics() async throws -> StoreStatistics
}

/// The pseudonym secret kept in the store, if it is kept there.
public protocol PseudonymSecretStore: StoreIdentity {
    func pseudonymSecretLocation() async throws -> PseudonymSecretLocation
    func storedPseudonymSecret() async throws -> PseudonymSecret
    func removeStoredPseudonymSecret() async throws
}

/// The embedding cache and the store's language model.
public protocol EmbeddingStore: StoreIdentity {
    func cachedEmbeddings(modelID: String, hashes: [String]) async throws -> [String: [Float]]
    /// Calls `body` with every cached vector of `modelID` (its text hash and raw little-endian Float32 bytes).
    func scanEmbeddings(modelID: String, _ body: (String, UnsafeRawBufferPointer) throws -> Void) async throws
    func saveEmbeddings(modelID: String, _ vectors: [(hash: String, vector: [Float])]) async throws
    func languageModel() async throws -> String?
    func recordLanguageModel(_ model: String) async throws
}

/// Splits, trained models and evaluation reports.
public protocol TrainingStore: StoreIdentity {
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
}

/// Bulk imports: one file, one transaction.
public protocol BulkImportStore: StoreIdentity {
    func importProducts(from path: String, options: ImportOptions) async throws -> ImportReport
    func importEvents(from path: String, options: ImportOptions) async throws -> ImportReport
}

/// Following the writes of other servers (`StoreChange`).
public protocol ChangeFeed: StoreIdentity {
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
    /// Calls `ring` soon after another process commits a change (and after a lost connection
    /// comes back, since changes may have been missed meanwhile); nothing for a store that is not shared.
    func notifyOnChanges(_ ring: @escaping @Sendable () -> Void)
}

/// The online loop: served lists, the cards shoppers saw, the events attributed to lists, and
/// experiments. Lists arrive in batches from a server's log (`OnlineLog`), one compact row each.
public protocol OnlineLogStore: StoreIdentity {
    /// Stores a batch of the log in one transaction; a list already stored (same id) is kept as it was.
    func saveOnlineLog(lists: [ServedList], seen: [SeenReport], attributed: [AttributedEvent]) async throws
    func servedList(id: String) async throws -> ServedList?
    /// These shoppers' lists served at or after `sinceMillis`, newest first (the attribution window).
    func servedLists(shopperKeys: [String], sinceMillis: Int64) async throws -> [ServedList]
    /// Lists served in `[fromMillis, untilMillis)`, with the seen reports and attributed events that name them.
    func onlineLog(fromMillis: Int64, untilMillis: Int64) async throws -> OnlineLogSlice
    /// Removes lists served before `millis` with their reports and attributions; returns how many lists.
    func pruneOnlineLog(before millis: Int64) async throws -> Int
    /// Bytes the served-list rows take (for the README's bytes per list), and how many there are.
    func servedListFootprint() async throws -> (bytes: Int, lists: Int)
    /// Adds an experiment; false when one of that name exists already (running or stopped), or
    /// another runs on its surface (one at a time, enforced by the store for every replica).
    func createExperiment(_ experiment: Experiment) async throws -> Bool
    /// Every experiment, oldest first.
    func experiments() async throws -> [Experiment]
    /// Marks a running experiment stopped; false when there is no such running experiment.
    func stopExperiment(named name: String, atMillis: Int64) async throws -> Bool
}

/// A shopper's control over their data: personalisation off, and erasure.
public protocol ShopperPrivacyStore: StoreIdentity {
    /// The stored keys of shoppers who turned personalisation off.
    func shoppersWithoutPersonalisation() async throws -> Set<String>
    /// Records whether the shopper wants personalised recommendations (on unless turned off).
    func setPersonalised(_ personalised: Bool, shopperKey: String) async throws
    /// Removes the shopper and everything stored about them, in one transaction: events (and
    /// their places in splits), preferences, served lists with their seen reports and attributions.
    /// Returns how many events went; nil when the store knows nothing of the shopper.
    func eraseShopper(shopperKey: String) async throws -> Int?
}

/// The shop's merchandising rules, by name. On a shared store a change is logged
/// (`StoreChange.Kind.rules`), so every replica applies it at once.
public protocol MerchandisingRuleStore: StoreIdentity {
    func merchandisingRules() async throws -> [MerchandisingRule]
    /// Stores the rule under its name, replacing one of that name; true when it is new.
    func putMerchandisingRule(_ rule: MerchandisingRule) async throws -> Bool
    /// False when there is no rule of that name.
    func deleteMerchandisingRule(named name: String) async throws -> Bool
}

/// Copying a whole store (`curator store copy`).
public protocol StoreCopying: StoreIdentity {
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
        /// A shopper erased: their events are gone from popularity and histories.
        case erasure = 5
        /// A merchandising rule stored or deleted.
        case rules = 6
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

extension StoreIdentity {
    /// The stored key for a shop's shopper id.
    public func shopperKey(for shopID: String) -> String { pseudonymizer.key(forShopID: shopID) }
}

extension EventStore {
    public func events(forShopID shopID: String) async throws -> [StoredEvent] { try await events(forShopID: shopID, newest: nil) }
    public func shopperSummary(shopID: String) async throws -> ShopperSummary? { try await shopperSummary(shopID: shopID, recent: 20) }
}

extension TrainingStore {
    public func model(named name: String) async throws -> StoredModel? { try await model(named: name, version: nil) }
}

extension BulkImportStore {
    public func importProducts(from path: String) async throws -> ImportReport { try await importProducts(from: path, options: .init()) }
    public func importEvents(from path: String) async throws -> ImportReport { try await importEvents(from: path, options: .init()) }
}
