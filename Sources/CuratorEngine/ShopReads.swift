import CuratorCore
import Foundation
import Storage

/// A saved model version as an operator sees it.
public struct ModelVersion: Sendable, Hashable {
    public var name: String
    public var version: Int
    public var trainedAtMillis: Int64

    public init(name: String, version: Int, trainedAtMillis: Int64) {
        self.name = name
        self.version = version
        self.trainedAtMillis = trainedAtMillis
    }
}

/// One shopper's activity: event counts by type and their newest events.
public struct ShopperActivity: Sendable {
    public struct RecentEvent: Sendable {
        public var productID: String
        public var type: EventType
        public var timestampMillis: Int64
        /// Nil once the product has left the catalogue.
        public var title: String?
    }

    public var counts: [EventType: Int]
    /// Newest first.
    public var recent: [RecentEvent]
}

/// What the models page shows: the model in use, saved versions, the newest evaluation report
/// and the shop's size.
public struct ShopOverview: Sendable {
    /// Nil: the language-model vectors alone (semantic).
    public var inUse: ModelVersion?
    public var saved: [ModelVersion]
    /// The newest `curator evaluate` report as saved (JSON text) and when.
    public var evaluation: (createdAtMillis: Int64, json: String)?
    public var products: Int
    public var events: [EventType: Int]
    public var shoppers: Int
}

/// Reads of the shop's state for the server: from the live catalogue where it is in memory,
/// from the store where it is not (histories, saved models).
extension RecommendationEngine {
    /// Live products in the catalogue.
    public var productCount: Int { catalogue.count }

    /// Entries of the catalogue's map from store ids to rows (see `LiveCatalogue.storeIDEntries`).
    package var storeIDEntries: Int { catalogue.storeIDEntries }

    /// The trained model in use; nil while the language-model vectors alone rank (semantic).
    public var modelInUse: ModelVersion? {
        catalogue.servingModel.map { ModelVersion(name: $0.name, version: $0.version, trainedAtMillis: $0.createdAtMillis) }
    }

    /// How the vector index came to be ("exact scan", "built in 12.3 s", …), for start-up logs.
    public var indexOrigin: String { catalogue.indexOrigin }
    /// How similar products are found now: "graph", "exact scan", or "compact scan while the graph builds".
    public var vectorSearch: String {
        catalogue.index != nil ? "graph" : catalogue.buildsGraph ? LiveCatalogue.scanWhileBuilding : "exact scan"
    }

    /// Whether the catalogue's graph in service holds the product (false while none is).
    package func graphHolds(_ productID: String) -> Bool { catalogue.graphHolds(productID) }

    /// Returns once a graph being built in the background (`IndexOptions.buildsInBackground`) is in service, or at once.
    public func waitForGraph() async { await catalogue.waitForGraph() }

    /// The catalogue graph's searches so far and how many were exact scans (nil: no graph).
    public var vectorSearchStatistics: (searches: Int, exactScans: Int)? { catalogue.index?.searchStatistics }
    /// Whether the catalogue's full-precision vectors are in a mapped file (a graph and its file path).
    package var vectorsAreMapped: Bool { catalogue.vectorsAreMapped }

    /// Saves the vector graphs (if any) and describes the catalogue beside them, so that the next
    /// start reads from the store only what changed (`CatalogueSnapshot`). Products this server
    /// wrote get their store versions first, so they are not read again; a store that cannot be
    /// read then only leaves them to be read.
    public func saveIndex(to path: String) async throws {
        do {
            for batch in catalogue.storeIDsWrittenSinceRead().chunks(of: 10_000) {
                catalogue.adoptVersions(try await store.storedProducts(rowIDs: batch))
            }
        } catch {}
        try catalogue.saveIndex(to: path)
    }

    /// The store as a person names it (a path, or a URL with its password masked).
    public var storeName: String { store.name }

    /// The stored key for a shop's shopper id (what session tokens and access checks compare).
    public func shopperKey(for shopID: String) -> String { store.shopperKey(for: shopID) }

    /// A live product, from memory.
    public func product(id: String) -> Product? { catalogue.product(id) }

    /// Whether a live product with this id is in the catalogue.
    public func containsProduct(id: String) -> Bool { catalogue.contains(id) }

    /// A product's popularity score (the sum of its events' type weights); nil for an unknown product.
    public func popularity(of productID: String) -> Float? {
        catalogue.read { view in view.rows[productID].map { view.popularity[$0] } }
    }

    /// The live products closest in meaning to a search text, encoded as a query on the encoder
    /// lane (between the chunks of any upsert).
    public func search(text: String, category: String?, limit: Int) async throws -> Page {
        let embedding = try requireEmbedding("search by text")
        let vector = try await lanes.encoder.run { Array(embedding.encoder.encodeMatrix([text], role: .query)[0]) }
        return search(vector: vector, category: category, limit: limit)
    }

    /// A shopper's event counts and `recent` newest events with the products' titles; nil for a
    /// shopper with no events.
    public func shopperActivity(shopID: String, recent: Int = 20) async throws -> ShopperActivity? {
        guard let summary = try await store.shopperSummary(shopID: shopID, recent: recent) else { return nil }
        return ShopperActivity(counts: summary.counts, recent: summary.recent.map {
            .init(productID: $0.productID, type: $0.type, timestampMillis: $0.timestampMillis, title: catalogue.product($0.productID)?.title)
        })
    }

    /// The most recently active shoppers, newest first, by pseudonym.
    public func recentShoppers(limit: Int) async throws -> [ShopperOverview] {
        try await store.recentShoppers(limit: limit)
    }

    public func overview() async throws -> ShopOverview {
        let saved = try await store.models().map { ModelVersion(name: $0.name, version: $0.version, trainedAtMillis: $0.createdAtMillis) }
        let totals = try await store.eventTotals()
        return ShopOverview(inUse: modelInUse, saved: saved, evaluation: try await store.latestEvaluation(), products: catalogue.count,
                            events: totals.counts, shoppers: totals.shoppers)
    }

    /// True when other servers may write to the store this engine serves (PostgreSQL): then a
    /// server runs a `StoreFollower`.
    public var followsOtherServers: Bool { store.isShared }

    /// Calls `ring` soon after another server commits a change to a shared store.
    public func notifyOnStoreChanges(_ ring: @escaping @Sendable () -> Void) { store.notifyOnChanges(ring) }
}
