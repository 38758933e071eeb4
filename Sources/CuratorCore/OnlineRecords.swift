import Foundation

// What the online loop stores: the lists a server served, which of their cards shoppers saw,
// the events attributed to them, and the experiments that split traffic between models.

/// Where a list was shown.
public enum Surface: String, Sendable, Codable, CaseIterable, Hashable {
    /// A known shopper's recommendations (`/v1/shoppers/{id}/recommendations`).
    case shopper
    /// Recommendations for a history the caller sent (`POST /v1/recommendations`).
    case anonymous
    /// A product's similar products.
    case similar
    /// Search results.
    case search

    public var code: Int16 {
        switch self {
        case .shopper: 0
        case .anonymous: 1
        case .similar: 2
        case .search: 3
        }
    }

    public init?(code: Int16) {
        guard let surface = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = surface
    }
}

/// One list as served: one compact row per list, the products packed in order.
public struct ServedList: Sendable, Hashable {
    /// Opaque, unique across replicas (`RecommendationID`).
    public var id: String
    /// The stored pseudonym of the shopper it was for; nil for an anonymous caller.
    public var shopperKey: String?
    public var surface: Surface
    public var model: String
    /// The trained model's version; nil for the untrained models.
    public var modelVersion: Int?
    public var experiment: String?
    public var variant: String?
    /// In list order: position p is `productIDs[p - 1]`.
    public var productIDs: [String]
    /// Interleaving only: per position, the index (0 or 1) of the variant that contributed the item.
    public var teams: [UInt8]?
    public var servedAtMillis: Int64

    public init(id: String, shopperKey: String?, surface: Surface, model: String, modelVersion: Int? = nil, experiment: String? = nil,
                variant: String? = nil, productIDs: [String], teams: [UInt8]? = nil, servedAtMillis: Int64) {
        self.id = id
        self.shopperKey = shopperKey
        self.surface = surface
        self.model = model
        self.modelVersion = modelVersion
        self.experiment = experiment
        self.variant = variant
        self.productIDs = productIDs
        self.teams = teams
        self.servedAtMillis = servedAtMillis
    }

    /// The 1-based position of a product in the list, if it is there.
    public func position(of productID: String) -> Int? { productIDs.firstIndex(of: productID).map { $0 + 1 } }

    /// The product ids as one text: ids never hold control characters (`TextCleaning.identifier`), so a unit separator joins them.
    public var packedProductIDs: String { productIDs.joined(separator: "\u{1F}") }

    public static func unpack(productIDs text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
    }
}

/// Cards of a served list that a shopper saw (`POST /v1/impressions`).
public struct SeenReport: Sendable, Hashable {
    public var recommendationID: String
    /// 1-based positions.
    public var positions: [Int]
    public var atMillis: Int64

    public init(recommendationID: String, positions: [Int], atMillis: Int64) {
        self.recommendationID = recommendationID
        self.positions = positions
        self.atMillis = atMillis
    }
}

/// An event credited to a served list: named by the event (`recommendation_id`) or found by
/// the attribution window.
public struct AttributedEvent: Sendable, Hashable {
    public var recommendationID: String
    public var shopperKey: String
    public var productID: String
    public var type: EventType
    public var quantity: Int64?
    public var price: String?
    public var atMillis: Int64

    public init(recommendationID: String, shopperKey: String, productID: String, type: EventType, quantity: Int64?, price: String?,
                atMillis: Int64) {
        self.recommendationID = recommendationID
        self.shopperKey = shopperKey
        self.productID = productID
        self.type = type
        self.quantity = quantity
        self.price = price
        self.atMillis = atMillis
    }

    /// Price × quantity (1 when not given); 0 without a price.
    public var revenue: Double {
        guard let price, let value = Double(price) else { return 0 }
        // A price of hundreds of digits is a valid decimal but no amount of money: it counts as none.
        let revenue = value * Double(quantity ?? 1)
        return revenue.isFinite && abs(revenue) < 1e15 ? revenue : 0
    }
}

/// A split of one surface's traffic between models.
public struct Experiment: Sendable, Hashable, Codable {
    public enum Method: String, Sendable, Codable, Hashable {
        /// Each shopper sees one variant (A/B).
        case ab
        /// Every list merges two variants' lists (team-draft interleaving).
        case interleave
    }

    public struct Variant: Sendable, Hashable, Codable {
        public var name: String
        /// `popular`, `semantic`, or a trained model (`sequential`, `sequential@3`).
        public var model: String
        public var weight: Double

        public init(name: String, model: String, weight: Double = 1) {
            self.name = name
            self.model = model
            self.weight = weight
        }
    }

    public var name: String
    public var surface: Surface
    public var method: Method
    public var variants: [Variant]
    public var startedAtMillis: Int64
    /// Nil while it runs.
    public var stoppedAtMillis: Int64?

    public init(name: String, surface: Surface, method: Method, variants: [Variant], startedAtMillis: Int64, stoppedAtMillis: Int64? = nil) {
        self.name = name
        self.surface = surface
        self.method = method
        self.variants = variants
        self.startedAtMillis = startedAtMillis
        self.stoppedAtMillis = stoppedAtMillis
    }

    public var isRunning: Bool { stoppedAtMillis == nil }

    enum CodingKeys: String, CodingKey {
        case name, surface, method, variants, startedAtMillis = "started_at_ms", stoppedAtMillis = "stopped_at_ms"
    }
}

/// Part of the online log, read for a report.
public struct OnlineLogSlice: Sendable {
    public var lists: [ServedList]
    public var seen: [SeenReport]
    public var attributed: [AttributedEvent]

    public init(lists: [ServedList] = [], seen: [SeenReport] = [], attributed: [AttributedEvent] = []) {
        self.lists = lists
        self.seen = seen
        self.attributed = attributed
    }
}
