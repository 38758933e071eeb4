import CuratorCore
import Explanations
import Foundation
import Linear
import Recommenders
import Storage

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

    enum CodingKeys: String, CodingKey {
        case productID = "product_id", title, score, reason, evidence
    }
}

public struct RecommendationList: Sendable, Codable, Hashable {
    /// The shop's shopper id as the caller gave it.
    public var shopper: String
    public var model: String
    public var items: [RecommendedItem]

    public init(shopper: String, model: String, items: [RecommendedItem]) {
        self.shopper = shopper
        self.model = model
        self.items = items
    }
}

/// Recommends from the language model's product vectors: a shopper's vector is the
/// recency- and event-weighted mean of their history's vectors, and products are ranked by
/// similarity to it; shoppers without history get what is popular. Every item carries
/// evidence and a reason that cites only that evidence.
public struct RecommendationEngine: Sendable {
    public let store: CuratorStore
    public let products: [Product]
    let productIndex: [String: Int]
    /// Row-major [products × dimension], unit rows (zero rows for products with no vector).
    public let vectors: [Float]
    public let dimension: Int
    let popularity: [Float]
    let semantic: SemanticRecommender
    let evidenceFinder = EvidenceFinder()

    /// - Parameter vectors: one unit vector per product in `store.allProducts()` order.
    public init(store: CuratorStore, vectors: [Float], dimension: Int) throws {
        self.store = store
        products = try store.allProducts().map(\.product)
        guard vectors.count == products.count * dimension else {
            throw CuratorError.model("there are \(vectors.count / max(dimension, 1)) product vectors for \(products.count) products; run curator embed")
        }
        var index: [String: Int] = [:]
        for (i, product) in products.enumerated() { index[product.id] = i }
        productIndex = index
        self.vectors = vectors
        self.dimension = dimension
        semantic = SemanticRecommender(productVectors: vectors, dimension: dimension)
        // Popularity: events per product, the stronger kinds counting more.
        let log = try store.interactionLog()
        var counts = [Float](repeating: 0, count: products.count)
        for interaction in log.interactions where Int(interaction.product) < counts.count {
            counts[Int(interaction.product)] += interaction.type.weight
        }
        popularity = counts
    }

    public func recommend(shopper shopID: String, request: RecommendationRequest) throws -> RecommendationList {
        let events = try store.events(forShopID: shopID)
        return recommend(shopper: shopID, history: events.map { ($0.productID, $0.type, $0.timestampMillis) }, request: request)
    }

    /// Recommendations for a history given directly (an anonymous session, or a shopper's stored events).
    public func recommend(shopper: String, history events: [(productID: String, type: EventType, timestampMillis: Int64)],
                          request: RecommendationRequest) -> RecommendationList {
        var historyProducts: [Int32] = []
        var weights: [Float] = []
        var times: [Int64] = []
        var excluded = Set<Int>()
        var strongest: [Int: EventType] = [:]
        for event in events {
            guard let index = productIndex[event.productID] else { continue }
            historyProducts.append(Int32(index))
            weights.append(event.type.weight)
            times.append(event.timestampMillis)
            if request.exclude.contains(event.type) { excluded.insert(index) }
            if (strongest[index]?.weight ?? 0) < event.type.weight { strongest[index] = event.type }
        }
        for id in request.excludeIDs { if let index = productIndex[id] { excluded.insert(index) } }

        var scores = [Float](repeating: 0, count: products.count)
        let source: Evidence.Source
        let model: String
        if historyProducts.isEmpty || products.isEmpty {
            scores = popularity
            source = .popular
            model = "popular"
        } else {
            let history = ShopperHistory(shopper: 0, products: historyProducts[...], eventWeights: weights[...], timestamps: times[...])
            scores.withUnsafeMutableBufferPointer { semantic.scores(for: history, into: $0) }
            source = .similarToHistory
            model = semantic.name
        }
        let chosen = topK(scores: scores, k: request.k, excluded: excluded, request: request)

        // Evidence: the distinct history products, most recent last, with their strongest event.
        var seen = Set<Int>()
        var historyItems: [(product: Product, event: EventType, vector: ArraySlice<Float>)] = []
        for index in historyProducts.reversed() where seen.insert(Int(index)).inserted {
            let i = Int(index)
            historyItems.insert((products[i], strongest[i] ?? .view, vectors[(i * dimension)..<((i + 1) * dimension)]), at: 0)
        }
        let writer = ReasonWriter(language: request.language)
        let items = chosen.map { i -> RecommendedItem in
            let evidence = source == .popular
                ? Evidence(source: .popular)
                : evidenceFinder.evidence(for: (products[i], vectors[(i * dimension)..<((i + 1) * dimension)]), history: historyItems, source: source)
            return RecommendedItem(productID: products[i].id, title: products[i].title, score: scores[i],
                                   reason: writer.reason(for: products[i], evidence: evidence), evidence: evidence)
        }
        return RecommendationList(shopper: shopper, model: model, items: items)
    }

    /// Products most similar in meaning to one product.
    public func similar(to productID: String, k: Int, language: ReasonLanguage) throws -> [RecommendedItem] {
        guard let anchor = productIndex[productID] else { throw CuratorError.notFound(what: "product '\(productID)'") }
        var scores = [Float](repeating: 0, count: products.count)
        vectors.withUnsafeBufferPointer { v in
            scores.withUnsafeMutableBufferPointer { s in
                BLAS.sgemv(m: products.count, n: dimension, a: v.baseAddress!, lda: dimension,
                           x: v.baseAddress! + anchor * dimension, y: s.baseAddress!)
            }
        }
        let chosen = topK(scores: scores, k: k, excluded: [anchor], request: RecommendationRequest(k: k))
        let writer = ReasonWriter(language: language)
        return chosen.map { i in
            let evidence = evidenceFinder.evidence(
                for: (products[i], vectors[(i * dimension)..<((i + 1) * dimension)]),
                history: [(products[anchor], .view, vectors[(anchor * dimension)..<((anchor + 1) * dimension)])],
                source: .similarToProduct)
            return RecommendedItem(productID: products[i].id, title: products[i].title, score: scores[i],
                                   reason: writer.reason(for: products[i], evidence: evidence), evidence: evidence)
        }
    }

    /// The k best products that pass the request's filters; never short while enough products pass.
    func topK(scores: [Float], k: Int, excluded: Set<Int>, request: RecommendationRequest) -> [Int] {
        let category = request.category?.lowercased()
        var best: [(score: Float, index: Int)] = []
        best.reserveCapacity(k + 1)
        for i in 0..<scores.count {
            let score = scores[i]
            if best.count == k, let last = best.last, score <= last.score { continue }
            let product = products[i]
            if !product.inStock || excluded.contains(i) { continue }
            if let category, !product.category.lowercased().hasPrefix(category) { continue }
            if request.minPrice != nil || request.maxPrice != nil {
                guard let price = product.priceValue else { continue }
                if let min = request.minPrice, price < min { continue }
                if let max = request.maxPrice, price > max { continue }
            }
            // Insert in order (k is small).
            var position = best.count
            while position > 0 && best[position - 1].score < score { position -= 1 }
            best.insert((score, i), at: position)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.index)
    }
}
