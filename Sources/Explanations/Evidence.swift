import CuratorCore
import Linear

/// The language a shopper reads reasons in.
public enum ReasonLanguage: String, Sendable, Codable, CaseIterable {
    case en, zh
}

/// Why a product was recommended, as facts a reason may cite and nothing more.
public struct Evidence: Sendable, Codable, Hashable {
    /// Where the recommendation came from.
    public enum Source: String, Sendable, Codable, Hashable {
        /// A trained model scored it for this shopper.
        case personalModel = "personal_model"
        /// It is close in meaning to products in the shopper's history.
        case similarToHistory = "similar_to_history"
        /// It is close in meaning to one given product ("similar products").
        case similarToProduct = "similar_to_product"
        /// The shopper has no usable history; it is popular with everyone.
        case popular
        /// The shopper turned personalisation off: popular with everyone, none of their history used.
        case personalisationOff = "personalisation_off"
        /// The shop's rule placed it (a pin or a boost) and nothing in the history resembles it.
        case featured
    }

    /// A product from the shopper's history that the recommendation resembles.
    public struct HistoryItem: Sendable, Codable, Hashable {
        public var productID: String
        public var title: String
        public var event: EventType
        /// Cosine similarity of the two products' language-model vectors.
        public var similarity: Float

        public init(productID: String, title: String, event: EventType, similarity: Float) {
            self.productID = productID
            self.title = title
            self.event = event
            self.similarity = similarity
        }

        enum CodingKeys: String, CodingKey {
            case productID = "product_id", title, event, similarity
        }
    }

    public var source: Source
    /// Most similar first; at most a few.
    public var historyItems: [HistoryItem]
    /// A brand every cited history item shares with the recommendation, if any.
    public var sharedBrand: String?
    /// A category every cited history item shares with the recommendation, if any.
    public var sharedCategory: String?

    public init(source: Source, historyItems: [HistoryItem] = [], sharedBrand: String? = nil, sharedCategory: String? = nil) {
        self.source = source
        self.historyItems = historyItems
        self.sharedBrand = sharedBrand
        self.sharedCategory = sharedCategory
    }

    enum CodingKeys: String, CodingKey {
        case source
        case historyItems = "history_items"
        case sharedBrand = "shared_brand"
        case sharedCategory = "shared_category"
    }
}

/// Picks the evidence for one recommendation: the history products whose vectors are closest
/// to the recommended product's, and what brand or category they share with it.
public struct EvidenceFinder: Sendable {
    /// Below this cosine a history product is not cited as "similar".
    public var minimumSimilarity: Float
    public var maximumItems: Int

    public init(minimumSimilarity: Float = 0.35, maximumItems: Int = 2) {
        self.minimumSimilarity = minimumSimilarity
        self.maximumItems = maximumItems
    }

    /// - Parameters:
    ///   - candidate: the recommended product and its unit vector.
    ///   - history: the shopper's products (most recent last), each with its strongest event and unit vector.
    public func evidence(
        for candidate: (product: Product, vector: ArraySlice<Float>),
        history: [(product: Product, event: EventType, vector: ArraySlice<Float>)],
        source: Evidence.Source
    ) -> Evidence {
        var scored: [(index: Int, similarity: Float)] = []
        var closest: (index: Int, similarity: Float)?
        for (index, item) in history.enumerated() where item.product.id != candidate.product.id {
            let similarity = Kernels.dot(candidate.vector, item.vector)
            if similarity >= minimumSimilarity { scored.append((index, similarity)) }
            if similarity > closest?.similarity ?? -.infinity { closest = (index, similarity) }
        }
        // Nothing close enough to call "similar": cite the closest one with its (low) similarity,
        // so the reason still names real evidence; the sentence then makes no claim of likeness
        // beyond what `sharedBrand`/`sharedCategory` say.
        if scored.isEmpty, let closest { scored = [closest] }
        // Most similar first; among equals, the more recent.
        scored.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.index > $1.index }
        var seen = Set<String>()
        var items: [Evidence.HistoryItem] = []
        for (index, similarity) in scored where items.count < maximumItems {
            let item = history[index]
            guard seen.insert(item.product.id).inserted else { continue }
            items.append(.init(productID: item.product.id, title: item.product.title, event: item.event, similarity: similarity))
        }
        let cited = items.compactMap { item in history.first { $0.product.id == item.productID }?.product }
        func shared(_ field: KeyPath<Product, String>) -> String? {
            let value = candidate.product[keyPath: field]
            guard !value.isEmpty, !cited.isEmpty, cited.allSatisfy({ $0[keyPath: field] == value }) else { return nil }
            return value
        }
        let resolved: Evidence.Source = items.isEmpty && source == .similarToHistory ? .personalModel : source
        return Evidence(source: resolved, historyItems: items, sharedBrand: shared(\.brand), sharedCategory: shared(\.category))
    }

    /// Whether the evidence cites a history product close enough to call similar: what a product
    /// a shop's rule placed needs before its reason may cite the history.
    public func supports(_ evidence: Evidence) -> Bool {
        evidence.historyItems.contains { $0.similarity >= minimumSimilarity }
    }
}
