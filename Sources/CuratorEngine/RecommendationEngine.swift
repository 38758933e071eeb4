import CuratorCore
import Explanations
import Foundation
import Linear
import Recommenders
import Storage
import VectorSearch

/// What a caller may ask of one recommendation list.
public struct RecommendationRequest: Sendable {
    public var k: Int
    public var language: ReasonLanguage
    /// Products the shopper has had events of these types with are left out.
    public var exclude: Set<EventType>
    /// The shop's own list of products to leave out.
    public var excludeIDs: Set<String>
    /// Keep products whose category path starts with this (case-insensitive).
    public var category: String?
    public var minPrice: Double?
    public var maxPrice: Double?
    /// 0 (the scores' order) to 1 (variety first): maximal marginal relevance after scoring (`DiverseLists`).
    public var diversity: Float = 0
    /// At most this many products of one category in the list, while enough categories pass the filters.
    public var maxPerCategory: Int?
    /// Where the list is shown: which merchandising rules apply.
    public var surface: Surface = .shopper
    /// The rules in force on this list (set by the engine as it ranks).
    var rules = ActiveRules.none

    public init(k: Int = 10, language: ReasonLanguage = .en, exclude: Set<EventType> = [.purchase, .view],
                excludeIDs: Set<String> = [], category: String? = nil, minPrice: Double? = nil, maxPrice: Double? = nil) {
        self.k = k
        self.language = language
        self.exclude = exclude
        self.excludeIDs = excludeIDs
        self.category = category
        self.minPrice = minPrice
        self.maxPrice = maxPrice
    }
}

public struct RecommendedItem: Sendable, Codable, Hashable {
    public var productID: String
    public var title: String
    public var score: Float
    public var reason: String
    public var evidence: Evidence
    /// 1-based place in the served list (0 until the list is served).
    public var position: Int
    /// The merchandising rule that placed or moved it, if one did.
    public var rule: String?

    public init(productID: String, title: String, score: Float, reason: String, evidence: Evidence, position: Int = 0) {
        self.productID = productID
        self.title = title
        self.score = score
        self.reason = reason
        self.evidence = evidence
        self.position = position
    }

    enum CodingKeys: String, CodingKey {
        case productID = "product_id", title, score, reason, evidence, position, rule
    }

    /// Writes `rule` as null when none applies, so every item has one shape.
    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(productID, forKey: .productID)
        try fields.encode(title, forKey: .title)
        try fields.encode(score, forKey: .score)
        try fields.encode(reason, forKey: .reason)
        try fields.encode(evidence, forKey: .evidence)
        try fields.encode(position, forKey: .position)
        try fields.encode(rule, forKey: .rule)
    }
}

public struct RecommendationList: Sendable, Codable, Hashable {
    /// The shop's shopper id as the caller gave it.
    public var shopper: String
    public var model: String
    public var items: [RecommendedItem]
    /// The served list's id (`ServedList`), which clicks and impressions name; nil until served.
    public var recommendationID: String?
    /// The experiment and variant that chose the model, when one did.
    public var experiment: String?
    public var variant: String?

    public init(shopper: String, model: String, items: [RecommendedItem], recommendationID: String? = nil, experiment: String? = nil,
                variant: String? = nil) {
        self.shopper = shopper
        self.model = model
        self.items = items
        self.recommendationID = recommendationID
        self.experiment = experiment
        self.variant = variant
    }

    enum CodingKeys: String, CodingKey {
        case shopper, model, items, recommendationID = "recommendation_id", experiment, variant
    }

    /// Writes `experiment` and `variant` as null when none applies, so every list has one shape.
    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(shopper, forKey: .shopper)
        try fields.encode(model, forKey: .model)
        try fields.encode(items, forKey: .items)
        try fields.encode(recommendationID, forKey: .recommendationID)
        try fields.encode(experiment, forKey: .experiment)
        try fields.encode(variant, forKey: .variant)
    }
}

/// Which of the engine's models ranks a list: the default (the trained model in use, else the
/// language-model vectors, popular without history), or one named by an experiment's variant.
public enum ModelChoice: Sendable, Hashable {
    var isVariant: Bool {
        if case .variant = self { return true }
        return false
    }

    case automatic
    case popular
    case semantic
    /// What a shopper who turned personalisation off gets: popular products, said so in the reason.
    case withoutPersonalisation
    /// An experiment variant's model the engine does not serve itself (`VariantRankers`).
    case variant(String)
}

/// What the engine needs of a store: the catalogue, events, vectors, saved models and, on a
/// shared store, the change feed (no imports, copies or secrets).
public typealias EngineStore = CatalogueStore & EventStore & EmbeddingStore & TrainingStore & ChangeFeed & OnlineLogStore & ShopperPrivacyStore & MerchandisingRuleStore

/// Recommends from the language model's product vectors: a shopper's vector is the
/// recency- and event-weighted mean of their history's vectors, and products are ranked by
/// similarity to it; shoppers without history get what is popular. Every item carries
/// evidence and a reason that cites only that evidence.
public struct RecommendationEngine: Sendable {
    /// How many of a shopper's newest events a recommendation reads, unless configured.
    public static let defaultHistoryLimit = 200

    /// Where state lives; only the engine reads and writes it, so the store and the live
    /// catalogue always change together.
    let store: any EngineStore
    /// What requests rank: products, vectors, popularity and the model in use, in memory.
    let catalogue: LiveCatalogue
    /// The language model for product texts and search queries; nil for an engine over vectors
    /// alone (tests, `curator recommend`), which can rank but not take new products or searches.
    let embedding: CatalogueEmbedding?
    let lanes: EngineLanes
    /// Shoppers' newest events held by this replica of a shared store (nil: read from the store each time).
    let histories: ShopperHistoryCache?
    /// A recommendation reads at most this many of the shopper's newest events (the server's
    /// `--history-limit`). Without a bound anyone who can post events could make one shopper's
    /// requests arbitrarily slow. Older events change next to nothing: the trained models read
    /// their `maxLength` newest (50 by default), and the language-model pooling halves an
    /// event's weight every `recencyHalfLife` events back (0.5^40 at 200 with the default 5).
    public let historyLimit: Int
    /// A history event's weight halves every `recencyHalfLife` events back from the newest.
    public var recencyHalfLife: Float = 5
    let evidenceFinder = EvidenceFinder()
    /// Served lists, seen reports and attributions on their way to the store.
    let online = OnlineLog()
    let experiments = RunningExperiments()
    /// Shoppers who turned personalisation off, as this replica last read them.
    let withoutPersonalisation = ShopperKeySet()
    /// Models running experiments' variants serve beside the engine's own.
    let variantRankers = VariantRankers()
    /// The shop's merchandising rules.
    let ruleBook = RuleBook()
    /// An event without a `recommendation_id` is credited to the newest list that showed its
    /// product to its shopper within this long before it (the server's `--attribution-window`).
    public var attributionWindowMillis: Int64 = Self.defaultAttributionWindowMillis
    public static let defaultAttributionWindowMillis: Int64 = 24 * 3600 * 1000

    init(store: any EngineStore, catalogue: LiveCatalogue, embedding: CatalogueEmbedding?, historyLimit: Int, historyCacheBytes: Int) {
        precondition(historyLimit > 0, "the history limit must be positive")
        // A SQLite file may be written by another process with no change log to follow (an import
        // while a server runs), so only a shared store's histories are held.
        histories = store.isShared && historyCacheBytes > 0 ? ShopperHistoryCache(budgetBytes: historyCacheBytes) : nil
        let lanes = EngineLanes()
        self.store = store
        self.catalogue = catalogue
        var embedding = embedding
        // Encoding runs on the engine's encoder lane, between the chunks of any large upsert.
        embedding?.lane = lanes.encoder
        self.embedding = embedding
        self.lanes = lanes
        self.historyLimit = historyLimit
    }

    /// The engine a server runs: products and vectors already read (`CatalogueEmbedding.upToDateCatalogue`),
    /// and the language model that encodes new products and search queries.
    public static func load(store: any EngineStore, embedding: CatalogueEmbedding, catalogue: CatalogueVectors,
                            indexOptions: LiveCatalogue.IndexOptions = LiveCatalogue.IndexOptions(),
                            historyLimit: Int = Self.defaultHistoryLimit,
                            historyCacheBytes: Int = Self.defaultHistoryCacheBytes) async throws -> RecommendationEngine {
        precondition(embedding.store === store, "the embedding reads and writes the engine's store")
        let live = try await LiveCatalogue.load(from: store, products: catalogue.products, vectors: catalogue.vectors,
                                                dimension: catalogue.dimension, indexOptions: indexOptions)
        return try await serving(store: store, catalogue: live, embedding: embedding, historyLimit: historyLimit,
                                 historyCacheBytes: historyCacheBytes)
    }

    /// The engine a server runs, from the store: a large catalogue that a clean stop described
    /// beside its graph is restored from there, reading from the store only the products changed
    /// since (`CatalogueSnapshot`); otherwise every product and vector is read, encoding first what
    /// the cache lacks (`progress`).
    public static func start(store: any EngineStore, embedding: CatalogueEmbedding,
                             indexOptions: LiveCatalogue.IndexOptions = LiveCatalogue.IndexOptions(),
                             historyLimit: Int = Self.defaultHistoryLimit, historyCacheBytes: Int = Self.defaultHistoryCacheBytes,
                             progress: CatalogueEmbedding.Progress? = nil) async throws -> RecommendationEngine {
        precondition(embedding.store === store, "the embedding reads and writes the engine's store")
        var options = indexOptions
        if options.path != nil { options.snapshotKey = [store.name, embedding.encoder.modelID, String(embedding.encoder.dimension)].joined(separator: "\u{1F}") }
        // The files a clean stop left are read while the store is asked what changed since.
        var saved = LiveCatalogue.readSavedFiles(indexOptions: options, dimension: embedding.encoder.dimension)
        // The change-log position first, then the versions, then the products: a change committed
        // meanwhile is then either in what was read or after the position (the follower applies it).
        let (counts, position) = try await store.productEventCountsAndPosition()
        let versions = try await store.productVersions()
        let restored = try await LiveCatalogue.restore(from: store, embedding: embedding, saved: try await saved?.value, versions: versions,
                                                       eventCounts: counts, indexOptions: options)
        saved = nil  // files not used are let go (the vector file's lock with them) before the whole catalogue is read
        let live: LiveCatalogue
        if let restored {
            live = restored
        } else {
            let catalogue = try await embedding.upToDateCatalogue(progress: progress)
            let deleted = catalogue.products.count >= options.threshold ? try await store.deletedProductRowIDs() : []
            live = try LiveCatalogue(products: catalogue.products, vectors: catalogue.vectors, dimension: catalogue.dimension, eventCounts: counts,
                                     deletedRowIDs: deleted, versions: versions, indexOptions: options)
        }
        live.loadedAtChange = position
        return try await serving(store: store, catalogue: live, embedding: embedding, historyLimit: historyLimit,
                                 historyCacheBytes: historyCacheBytes)
    }

    /// An engine that ranks without a language model. - Parameter vectors: one unit vector per
    /// product in `store.allProducts()` order.
    public static func load(store: any EngineStore, vectors: [Float], dimension: Int,
                            indexOptions: LiveCatalogue.IndexOptions = LiveCatalogue.IndexOptions(),
                            historyLimit: Int = Self.defaultHistoryLimit,
                            historyCacheBytes: Int = Self.defaultHistoryCacheBytes) async throws -> RecommendationEngine {
        let live = try await LiveCatalogue.load(from: store, vectors: vectors, dimension: dimension, indexOptions: indexOptions)
        return try await serving(store: store, catalogue: live, embedding: nil, historyLimit: historyLimit, historyCacheBytes: historyCacheBytes)
    }

    /// The engine over a loaded catalogue, with the shop's preferences and rules read: ready to serve.
    private static func serving(store: any EngineStore, catalogue: LiveCatalogue, embedding: CatalogueEmbedding?, historyLimit: Int,
                                historyCacheBytes: Int) async throws -> RecommendationEngine {
        let engine = RecommendationEngine(store: store, catalogue: catalogue, embedding: embedding, historyLimit: historyLimit,
                                          historyCacheBytes: historyCacheBytes)
        try await engine.refreshPreferences()
        try await engine.refreshRules()
        return engine
    }

    /// Memory for shoppers' histories on a replica of a shared store, unless configured (`--history-cache-mb`).
    public static let defaultHistoryCacheBytes = 64 << 20

    /// What a recommendation for this shopper reads: their newest `historyLimit` events, oldest
    /// first; on a shared store from this replica's cache when it holds them.
    public func history(ofShopper shopID: String) async throws -> [StoredEvent] {
        guard let histories else { return try await store.events(forShopID: shopID, newest: historyLimit) }
        let key = store.shopperKey(for: shopID)
        if let cached = histories.lookup(key) { return cached }
        let ticket = histories.ticket()
        let events = try await store.events(forShopID: shopID, newest: historyLimit)
        histories.store(events, for: key, ticket: ticket)
        return events
    }

    /// Shoppers whose histories this replica holds, their estimated bytes, and reads answered
    /// from them and missed (nil: no cache, histories are read from the store).
    public var historyCacheStatistics: (shoppers: Int, bytes: Int, hits: Int, misses: Int)? { histories?.statistics }

    /// Stores a batch of events (all or none, see `CuratorStoring.appendEvents`) and applies the
    /// ones that were new to the live catalogue before returning, so the next request sees them.
    /// A re-sent event, which the store ignores, leaves popularity unchanged.
    /// `recommendationIDs`, when given, are per event the served list it started from (nil: none
    /// named); stored events other than views are attributed to served lists (`attribute`).
    public func record(_ events: [Event], recommendationIDs: [String?] = []) async throws -> AppendedEvents {
        // Dropped once the write has ended, stored or not (a lost connection may leave its commit
        // uncertain): a read that began before keeps nothing (`ShopperHistoryCache`), a later one sees the write.
        defer { if let histories { histories.invalidate(events.map { store.shopperKey(for: $0.shopperID) }) } }
        let appended = try await store.appendEvents(events)
        guard appended.problems.isEmpty else { return appended }
        catalogue.countTowardPopularity(zip(events, appended.countsTowardPopularity).compactMap { event, counts in
            counts ? (productID: TextCleaning.identifier(event.productID), type: event.type) : nil
        })
        await attribute(events, isNew: appended.isNew, recommendationIDs: recommendationIDs)
        return appended
    }

    public func recommend(shopper shopID: String, request: RecommendationRequest) async throws -> RecommendationList {
        let events = try await history(ofShopper: shopID)
        return recommend(shopper: shopID, history: events.map { ($0.productID, $0.type, $0.timestampMillis) }, request: request)
    }

    /// Recommendations for a history given directly (an anonymous session, or a shopper's stored events).
    public func recommend(shopper: String, history events: [(productID: String, type: EventType, timestampMillis: Int64)],
                          request: RecommendationRequest, model choice: ModelChoice = .automatic) -> RecommendationList {
        // An anonymous session's list is bounded like a stored history: its newest events.
        let events = events.suffix(historyLimit)
        var request = request
        request.rules = ruleBook.active(on: request.surface, atMillis: Timestamps.nowMillis())
        return catalogue.read { view in
            var historyRows: [Int] = []
            var weights: [Float] = []
            var times: [Int64] = []
            var excluded = Set<Int>()
            var strongest: [Int: EventType] = [:]
            for event in events {
                guard let row = view.rows[event.productID] else { continue }
                historyRows.append(row)
                weights.append(event.type.weight)
                times.append(event.timestampMillis)
                if request.exclude.contains(event.type) { excluded.insert(row) }
                if (strongest[row]?.weight ?? 0) < event.type.weight { strongest[row] = event.type }
            }
            for id in request.excludeIDs { if let row = view.rows[id] { excluded.insert(row) } }

            let source: Evidence.Source
            let model: String
            var chosen: [(row: Int, score: Float)]
            let pool = MerchandisedLists.poolSize(k: request.k, request: request)
            if choice == .withoutPersonalisation {
                source = .personalisationOff
                model = "popular"
                chosen = Self.topK(scores: view.popularity, k: pool, excluded: excluded, request: request, view: view)
            } else if historyRows.isEmpty || choice == .popular {
                source = .popular
                model = "popular"
                chosen = Self.topK(scores: view.popularity, k: pool, excluded: excluded, request: request, view: view)
            } else if case .variant(let name) = choice, let ranker = variantRankers.ranker(name) {
                source = .personalModel
                model = ranker.label
                chosen = Self.variantTopK(ranker, historyRows: historyRows, weights: weights, timestamps: times, k: pool, excluded: excluded,
                                          request: request, view: view)
            } else if let trained = view.model, choice == .automatic || choice.isVariant {
                source = .personalModel
                model = trained.name
                chosen = Self.personalTopK(model: trained, historyRows: historyRows, k: pool, excluded: excluded, request: request, view: view)
            } else {
                source = .similarToHistory
                model = "semantic"
                let query = shopperVector(rows: historyRows, weights: weights, view: view)
                chosen = Self.nearest(to: query, k: pool, excluded: excluded, request: request, view: view)
            }
            let placed = MerchandisedLists.finish(chosen, k: request.k, request: request, excluded: excluded, view: view)

            // Evidence: the distinct history products, oldest first, with their strongest event.
            var seen = Set<Int>()
            var historyItems: [(product: Product, event: EventType, vector: ArraySlice<Float>)] = []
            for row in historyRows.reversed() where seen.insert(row).inserted {
                historyItems.insert((view.products[row], strongest[row] ?? .view, view.vector(row)), at: 0)
            }
            let writer = ReasonWriter(language: request.language)
            let items = placed.map { placed -> RecommendedItem in
                let product = view.products[placed.row]
                let fromHistory = source != .popular && source != .personalisationOff
                var evidence = fromHistory
                    ? evidenceFinder.evidence(for: (product, view.vector(placed.row)), history: historyItems, source: source)
                    : Evidence(source: source)
                // A product the shop's rule put here says so, unless the history truly resembles it.
                if placed.promoted && !(fromHistory && evidenceFinder.supports(evidence)) { evidence = Evidence(source: .featured) }
                var item = RecommendedItem(productID: product.id, title: product.title, score: placed.score,
                                           reason: writer.reason(for: product, evidence: evidence), evidence: evidence)
                item.rule = placed.rule
                return item
            }
            return RecommendationList(shopper: shopper, model: model, items: items)
        }
    }

    /// The trained model's ranking: its state for the history, then through the model's graph
    /// when the catalogue has one, else one `sgemv` against every product's representation.
    static func personalTopK(model: ServingModel, historyRows: [Int], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                             view: LiveCatalogue.View) -> [(row: Int, score: Float)] {
        let state = personalState(model: model, historyRows: historyRows, view: view)
        if let graph = view.modelIndex {
            return Self.graphSearch(graph.graph, query: graph.query(state), k: k, excluded: excluded, request: request, view: view)
                .map { ($0.row, $0.score * graph.scale) }
        }
        return personalExactTopK(model: model, state: state, k: k, excluded: excluded, request: request, view: view)
    }

    /// The model's state for the newest `maxLength` history products, from their representations.
    static func personalState(model: ServingModel, historyRows: [Int], view: LiveCatalogue.View) -> [Float] {
        let d = model.dimension
        let rowCount = view.modelVectors.count / d
        let used = historyRows.suffix(model.recommender.configuration.maxLength).filter { $0 < rowCount }
        var inputs = [Float](repeating: 0, count: used.count * d)
        for (i, row) in used.enumerated() {
            for c in 0..<d { inputs[i * d + c] = view.modelVectors[row * d + c] }
        }
        return model.recommender.shopperState(representations: inputs, count: used.count)
    }

    /// Every product scored exactly against the state with one `sgemv`.
    static func personalExactTopK(model: ServingModel, state: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                                  view: LiveCatalogue.View) -> [(row: Int, score: Float)] {
        let d = model.dimension
        let rowCount = view.modelVectors.count / d
        var scores = [Float](repeating: -.infinity, count: view.rowCount)
        scores.withUnsafeMutableBufferPointer { out in
            state.withUnsafeBufferPointer { x in
                BLAS.sgemv(m: rowCount, n: d, a: view.modelVectors.baseAddress!, lda: d, x: x.baseAddress!, y: out.baseAddress!)
            }
        }
        return topK(scores: scores, k: k, excluded: excluded, request: request, view: view)
    }

    /// Serves the newest saved `sequential` or `two-tower` model, if it is not already in use.
    /// Returns the model now in use (nil: none saved, the language-model vectors alone).
    /// Builds inline: for a command with nothing else to do; a server calls `reloadModel()`.
    @discardableResult
    public func loadLatestModel() async throws -> ServingModel? {
        guard let newer = try await newerModel() else { return catalogue.servingModel }
        return try install(newer)
    }

    /// The model in use before and after a `reloadModel()`.
    public struct ModelSwap: Sendable, Equatable {
        public var before: ModelVersion?
        public var after: ModelVersion?
        public var changed: Bool { before != after }
    }

    /// Swaps in the newest saved model if it is not the one in use. The swap (seconds on a large
    /// catalogue) runs on the engine's model lane, so requests keep being answered meanwhile.
    @discardableResult
    public func reloadModel() async throws -> ModelSwap {
        let before = modelInUse
        if let newer = try await newerModel() {
            _ = try await lanes.models.run { [self] in try install(newer) }
        }
        return ModelSwap(before: before, after: modelInUse)
    }

    /// A saved model newer than the one in use, read from the store with what installing it needs.
    struct NewerModel: Sendable {
        let stored: StoredModel
        let deletedRowIDs: [Int64]
    }

    /// The newest servable model when it is not the one in use (nil: nothing to change).
    func newerModel() async throws -> NewerModel? {
        guard let latest = try await ServingModel.latest(in: store) else { return nil }
        if let current = catalogue.servingModel, current.name == latest.name, current.version == latest.version { return nil }
        guard let stored = try await store.model(named: latest.name, version: latest.version) else { return nil }
        return NewerModel(stored: stored, deletedRowIDs: try await store.deletedProductRowIDs())
    }

    /// Builds and swaps in `newer` (blocking: seconds on a large catalogue); returns the model in use.
    @discardableResult
    func install(_ newer: NewerModel) throws -> ServingModel? {
        try catalogue.oneSwapAtATime {
            // Another swap may have installed it meanwhile.
            if let current = catalogue.servingModel, current.name == newer.stored.name, current.version == newer.stored.version { return current }
            let dimension = catalogue.dimension
            try catalogue.installModel(deletedRowIDs: newer.deletedRowIDs) { ids, vectors in
                try ServingModel(newer.stored, productIDs: ids, vectors: vectors, lmDimension: dimension)
            }
            return catalogue.servingModel
        }
    }

    /// Weighted mean of the history's vectors: event weight × recency decay, newest weighs most.
    func shopperVector(rows: [Int], weights: [Float], view: LiveCatalogue.View) -> [Float] {
        let d = view.dimension
        var vector = [Float](repeating: 0, count: d)
        var total: Float = 0
        let n = rows.count
        vector.withUnsafeMutableBufferPointer { out in
            for (i, row) in rows.enumerated() {
                let w = weights[i] * powf(0.5, Float(n - 1 - i) / recencyHalfLife)
                total += w
                let source = view.vectors.baseAddress! + row * d
                for c in 0..<d { out[c] += w * source[c] }
            }
            if total > 0 { for c in 0..<d { out[c] /= total } }
        }
        return vector
    }

    /// Products most similar in meaning to one product.
    public func similar(to productID: String, k: Int, language: ReasonLanguage, diversity: Float = 0,
                        maxPerCategory: Int? = nil) throws -> [RecommendedItem] {
        let rules = ruleBook.active(on: .similar, atMillis: Timestamps.nowMillis())
        return try catalogue.read { view in
            guard let anchor = view.rows[productID], view.alive[anchor] else { throw CuratorError.notFound(what: "product '\(productID)'") }
            var request = RecommendationRequest(k: k)
            request.diversity = diversity
            request.maxPerCategory = maxPerCategory
            request.surface = .similar
            request.rules = rules
            let candidates = Self.nearest(to: Array(view.vector(anchor)), k: MerchandisedLists.poolSize(k: k, request: request), excluded: [anchor],
                                          request: request, view: view)
            let placed = MerchandisedLists.finish(candidates, k: k, request: request, excluded: [anchor], view: view)
            let writer = ReasonWriter(language: language)
            let anchorItem = (view.products[anchor], EventType.view, view.vector(anchor))
            return placed.map { placed in
                let product = view.products[placed.row]
                var evidence = evidenceFinder.evidence(for: (product, view.vector(placed.row)), history: [anchorItem], source: .similarToProduct)
                if placed.promoted && !evidenceFinder.supports(evidence) { evidence = Evidence(source: .featured) }
                var item = RecommendedItem(productID: product.id, title: product.title, score: placed.score,
                                           reason: writer.reason(for: product, evidence: evidence), evidence: evidence)
                item.rule = placed.rule
                return item
            }
        }
    }

    /// The k products closest to `query` that pass the request's filters: through the HNSW graph
    /// when the catalogue has one (its filtered search falls back to an exact scan rather than
    /// come back short), else one `sgemv` over every vector.
    static func nearest(to query: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                        view: LiveCatalogue.View, requireInStock: Bool = true) -> [(row: Int, score: Float)] {
        if let index = view.index {
            return Self.graphSearch(index, query: query, k: k, excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        }
        if let compact = view.compactRows {
            return compactNearest(compact, query: query, k: k, excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        }
        return exactNearest(to: query, k: k, excluded: excluded, request: request, view: view, requireInStock: requireInStock)
    }

    /// While a large catalogue's graph builds: every row scored from its compact form (a quarter of
    /// the bytes of a full-precision scan), the best `rerankDepth(k)` that pass the filters scored again exactly.
    static func compactNearest(_ compact: CompactRows, query: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                               view: LiveCatalogue.View, requireInStock: Bool) -> [(row: Int, score: Float)] {
        var scores = [Float](repeating: -.infinity, count: view.rowCount)
        scores.withUnsafeMutableBufferPointer { compact.scores(for: query, into: $0) }
        let candidates = topK(scores: scores, k: rerankDepth(k), excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        return reranked(candidates.map(\.row), query: query, k: k, view: view)
    }

    /// `rows` scored again from the full-precision vectors, the best `k` first (ties by row).
    static func reranked(_ rows: [Int], query: [Float], k: Int, view: LiveCatalogue.View) -> [(row: Int, score: Float)] {
        let d = view.dimension
        let exact = query.withUnsafeBufferPointer { q in
            rows.map { row in (row: row, score: Kernels.dot(q.baseAddress!, view.vectors.baseAddress! + row * d, count: d)) }
        }
        return Array(exact.sorted { $0.score != $1.score ? $0.score > $1.score : $0.row < $1.row }.prefix(k))
    }

    /// The k closest rows by one `sgemv` over every full-precision vector: a small catalogue's
    /// search, and the truth a graph's recall is measured against.
    static func exactNearest(to query: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                             view: LiveCatalogue.View, requireInStock: Bool = true) -> [(row: Int, score: Float)] {
        var scores = [Float](repeating: 0, count: view.rowCount)
        scores.withUnsafeMutableBufferPointer { out in
            query.withUnsafeBufferPointer { x in
                BLAS.sgemv(m: view.rowCount, n: view.dimension, a: view.vectors.baseAddress!, lda: view.dimension,
                           x: x.baseAddress!, y: out.baseAddress!)
            }
        }
        return topK(scores: scores, k: k, excluded: excluded, request: request, view: view, requireInStock: requireInStock)
    }

    /// The k best rows through an HNSW graph keyed by store row id; its filtered search falls
    /// back to an exact scan rather than come back short. A compact graph (int8 vectors) finds
    /// `rerankDepth(k)` candidates (20 for 10), which are scored again from the catalogue's full-precision
    /// vectors: the ranking and the scores are then exact among them.
    static func graphSearch(_ index: HNSWIndex, query: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                       view: LiveCatalogue.View, requireInStock: Bool = true) -> [(row: Int, score: Float)] {
        let accepts = Self.filter(excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        let rowOf = view.rowOfStoreID
        let compact = index.parameters.compact
        let found = index.search(query: query, k: compact ? rerankDepth(k) : k, filter: .predicate { id in
            guard let row = rowOf[id] else { return false }
            return accepts(Int(row))
        })
        let rows = found.compactMap { neighbour in view.row(ofStoreID: neighbour.id).map { ($0, neighbour.score) } }
        guard compact else { return rows }
        return reranked(rows.map(\.0), query: query, k: k, view: view)
    }

    /// Candidates a compact graph finds for k results: enough that re-ranking them recovers the
    /// exact top k (recall@10 measured in `scripts/bench serve`).
    static func rerankDepth(_ k: Int) -> Int { k + max(10, k / 4) }

    /// How `similarRanking` finds a product's neighbours.
    public enum SimilarSearch: Sendable {
        /// As served: through the catalogue's graph when it has one.
        case served
        /// By scanning `CompactRows` of the catalogue (`compactRows()`), the best re-ranked from the
        /// full-precision vectors: how a large catalogue answers while its graph builds.
        case compactScan(CompactRows)
        /// By scoring every product's full-precision vector: what the others' recall is measured by.
        case exhaustive
    }

    /// A product's `k` most similar products, found as `search` says. Nil for an unknown product
    /// (or compact rows that are not this catalogue's).
    /// Each with its full-precision score, so a recall can count ties (products with identical
    /// texts have identical vectors) as the hits they are.
    public func similarRanking(to productID: String, k: Int, search: SimilarSearch) -> [(productID: String, score: Float)]? {
        catalogue.read { view in
            guard let anchor = view.rows[productID], view.alive[anchor] else { return nil }
            let query = Array(view.vector(anchor))
            let request = RecommendationRequest(k: k)
            let ranked: [(row: Int, score: Float)]
            switch search {
            case .served: ranked = Self.nearest(to: query, k: k, excluded: [anchor], request: request, view: view)
            case .exhaustive: ranked = Self.exactNearest(to: query, k: k, excluded: [anchor], request: request, view: view)
            case .compactScan(let rows):
                guard rows.count == view.rowCount, rows.dimension == view.dimension else { return nil }
                ranked = Self.compactNearest(rows, query: query, k: k, excluded: [anchor], request: request, view: view, requireInStock: true)
            }
            return ranked.map { (view.products[$0.row].id, $0.score) }
        }
    }

    /// Every row's vector (deleted rows too) in the compact form a catalogue scans while its graph
    /// builds, for `similarRanking(to:k:search: .compactScan(_))`.
    public func compactRows() -> CompactRows {
        catalogue.read { view in CompactRows(Array(view.vectors.prefix(view.rowCount * view.dimension)), dimension: view.dimension) }
    }

    /// The trained model's top `k` for a history (product ids, oldest first), through its graph
    /// as served or, `exhaustive`, by scoring every product: what a recall measurement compares.
    /// Nil without a trained model (or, not exhaustive, without a model graph).
    public func trainedModelRanking(history: [String], k: Int, exhaustive: Bool) -> [String]? {
        catalogue.read { view in
            guard let model = view.model, exhaustive || view.modelIndex != nil else { return nil }
            let rows = history.compactMap { view.rows[$0] }
            guard !rows.isEmpty else { return [] }
            let request = RecommendationRequest(k: k)
            let excluded = Set(rows)
            let ranked = exhaustive
                ? Self.personalExactTopK(model: model, state: Self.personalState(model: model, historyRows: rows, view: view), k: k,
                                         excluded: excluded, request: request, view: view)
                : Self.personalTopK(model: model, historyRows: rows, k: k, excluded: excluded, request: request, view: view)
            return ranked.map { view.products[$0.row].id }
        }
    }

    /// Whether a row may be recommended: live, in stock (unless `requireInStock` is false, as
    /// for search), not excluded, inside the filters.
    static func filter(excluded: Set<Int>, request: RecommendationRequest, view: LiveCatalogue.View,
                       requireInStock: Bool = true) -> @Sendable (Int) -> Bool {
        let accepts = unblockedFilter(excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        // A blocked product is never shown: left out while ranking, so lists are not short.
        guard let blocked = request.rules.blocked(in: view) else { return accepts }
        return { accepts($0) && !blocked($0) }
    }

    private static func unblockedFilter(excluded: Set<Int>, request: RecommendationRequest, view: LiveCatalogue.View,
                                        requireInStock: Bool) -> @Sendable (Int) -> Bool {
        let eligible = requireInStock ? view.eligible : view.alive
        guard request.category != nil || request.minPrice != nil || request.maxPrice != nil else {
            if excluded.isEmpty { return { eligible[$0] } }
            return { eligible[$0] && !excluded.contains($0) }
        }
        let category = request.category?.lowercased()
        let categories = view.categoryKeys, prices = view.prices
        let minPrice = request.minPrice ?? -.infinity, maxPrice = request.maxPrice ?? .infinity
        let checksPrice = request.minPrice != nil || request.maxPrice != nil
        return { row in
            guard eligible[row], !excluded.contains(row) else { return false }
            if let category, !categories[row].hasPrefix(category) { return false }
            if checksPrice {
                let price = prices[row]
                // NaN (no price) fails both comparisons, so a price filter leaves it out.
                guard price >= minPrice && price <= maxPrice else { return false }
            }
            return true
        }
    }

    /// The k best rows by `scores` that pass the request's filters; never short while enough
    /// products pass, because every row is considered.
    static func topK(scores: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest,
                     view: LiveCatalogue.View, requireInStock: Bool = true) -> [(row: Int, score: Float)] {
        let accepts = filter(excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        var selector = TopKSelector(k: k)
        return scores.withUnsafeBufferPointer { selector.select(scores: $0, where: accepts) }.map { (row: $0.index, score: $0.score) }
    }
}
