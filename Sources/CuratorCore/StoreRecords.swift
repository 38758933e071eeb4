import Foundation

// Records the stores return and the engine hands on: the same for every store.

/// One event in a batch that cannot be stored, with why.
public struct EventProblem: Sendable, Hashable, Codable {
    public var index: Int
    public var field: String
    public var reason: String

    public init(index: Int, field: String, reason: String) {
        self.index = index
        self.field = field
        self.reason = reason
    }
}

/// What storing a batch of events did.
public struct AppendedEvents: Sendable, Hashable {
    /// Per event of the batch, in order: true when it was stored now; false when an identical
    /// event was stored already (the store keeps one), or when the batch was refused.
    public var isNew: [Bool]
    /// Why the batch was refused; empty when it was stored.
    public var problems: [EventProblem]
    /// Per event: stored now and the first of its shopper, product, type and UTC day
    /// (`Popularity.countsOnce`), so it adds to popularity; a shopper's repeats that day do not.
    public var countsTowardPopularity: [Bool]

    public init(isNew: [Bool], problems: [EventProblem], countsTowardPopularity: [Bool]? = nil) {
        self.isNew = isNew
        self.problems = problems
        self.countsTowardPopularity = countsTowardPopularity ?? isNew
    }

    /// Events stored now.
    public var inserted: Int { isNew.count(where: { $0 }) }
    /// Events identical to one already stored, ignored (none when the batch was refused).
    public var duplicates: Int { problems.isEmpty ? isNew.count - inserted : 0 }
}

/// A stored event as read back: the shopper appears only under their pseudonymous key.
public struct StoredEvent: Sendable, Hashable {
    public var id: Int64
    public var shopperKey: String
    public var productID: String
    public var type: EventType
    public var timestampMillis: Int64
    public var quantity: Int64?
    public var price: String?

    public init(id: Int64, shopperKey: String, productID: String, type: EventType, timestampMillis: Int64, quantity: Int64?, price: String?) {
        self.id = id
        self.shopperKey = shopperKey
        self.productID = productID
        self.type = type
        self.timestampMillis = timestampMillis
        self.quantity = quantity
        self.price = price
    }
}

/// A shopper as an operator's list shows them: by pseudonym, never by the shop's clear id.
public struct ShopperOverview: Sendable, Hashable {
    /// The stored pseudonym; `~` + this names the shopper in the API.
    public var pseudonym: String
    public var events: Int
    public var lastSeenMillis: Int64
    /// The category the shopper has the most events in.
    public var topCategory: String

    public init(pseudonym: String, events: Int, lastSeenMillis: Int64, topCategory: String) {
        self.pseudonym = pseudonym
        self.events = events
        self.lastSeenMillis = lastSeenMillis
        self.topCategory = topCategory
    }
}

/// A shopper's activity as a store reads it: event counts by type, and their newest events.
public struct ShopperSummary: Sendable, Hashable {
    public var counts: [EventType: Int]
    /// Newest first.
    public var recent: [StoredEvent]

    /// From per-type counts as stored (type codes; a code no event type has is left out).
    public init(countsByTypeCode: some Sequence<(code: Int, count: Int)>, recent: [StoredEvent]) {
        var counts: [EventType: Int] = [:]
        for (code, count) in countsByTypeCode { if let type = EventType(code: code) { counts[type] = count } }
        self.counts = counts
        self.recent = recent
    }
}

extension EventProblem {
    /// An event naming a product the catalogue does not hold, or holds deleted: refused in the
    /// API's batches and in imports, on either store, with this one reason.
    public static func unknownProduct(index: Int, productID: String) -> EventProblem {
        EventProblem(index: index, field: "product_id", reason: unknownProductReason(productID))
    }

    public static func unknownProductReason(_ productID: String) -> String {
        "unknown product '\(productID)' (add it to the catalogue first: PUT /v1/products/{id} or curator import products FILE)"
    }
}

extension AppendedEvents {
    /// A batch refused whole: nothing of it stored.
    public static func refused(count: Int, problems: [EventProblem]) -> AppendedEvents {
        AppendedEvents(isNew: [Bool](repeating: false, count: count), problems: problems)
    }
}

/// A stored event as a follower applies it.
public struct EventSummary: Sendable, Hashable {
    public var shopperKey: String
    public var productID: String
    public var type: EventType
    /// The first of its shopper, product, type and UTC day (see `AppendedEvents.countsTowardPopularity`).
    public var countsTowardPopularity: Bool

    public init(shopperKey: String, productID: String, type: EventType, countsTowardPopularity: Bool) {
        self.shopperKey = shopperKey
        self.productID = productID
        self.type = type
        self.countsTowardPopularity = countsTowardPopularity
    }
}
