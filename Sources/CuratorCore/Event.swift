/// What a shopper did with a product. The raw value is the interchange-format spelling.
public enum EventType: String, CaseIterable, Sendable, Codable, Hashable {
    case view, click, cart, favorite, purchase

    /// Stable small integer used in storage and in-memory datasets.
    public var code: Int {
        switch self {
        case .view: 0
        case .click: 1
        case .cart: 2
        case .favorite: 3
        case .purchase: 4
        }
    }

    public init?(code: Int) {
        switch code {
        case 0: self = .view
        case 1: self = .click
        case 2: self = .cart
        case 3: self = .favorite
        case 4: self = .purchase
        default: return nil
        }
    }

    /// How much one event of this type says about a shopper's taste: a purchase
    /// is stronger evidence than a view. Used when pooling history vectors.
    public var weight: Float {
        switch self {
        case .view: 1
        case .click: 1.5
        case .favorite: 2.5
        case .cart: 3
        case .purchase: 4
        }
    }
}

/// One behaviour event in the interchange format, before it is stored.
public struct Event: Sendable, Hashable, Codable {
    /// The shop's own shopper id, in the clear; storage keeps only its keyed hash.
    public var shopperID: String
    public var productID: String
    public var type: EventType
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var timestampMillis: Int64
    public var quantity: Int64?
    /// Canonical decimal text, e.g. "2.10" stays "2.10".
    public var price: String?

    public init(shopperID: String, productID: String, type: EventType, timestampMillis: Int64,
                quantity: Int64? = nil, price: String? = nil) {
        self.shopperID = shopperID
        self.productID = productID
        self.type = type
        self.timestampMillis = timestampMillis
        self.quantity = quantity
        self.price = price
    }
}

extension EventType {
    /// Event types named as a filter (`--exclude`, `exclude=`): the type (`purchase`) or what the
    /// shopper did (`purchased`), any case; the one parser the CLI and the server share.
    public static func filter(_ names: some Sequence<String>) throws(UnknownEventFilter) -> Set<EventType> {
        var types = Set<EventType>()
        for name in names.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
            guard let type = EventType(rawValue: name) ?? allCases.first(where: { $0.pastTense == name }) else { throw UnknownEventFilter(name: name) }
            types.insert(type)
        }
        return types
    }

    /// What the shopper did: viewed, clicked, carted, favorited, purchased.
    public var pastTense: String {
        switch self {
        case .view: "viewed"
        case .click: "clicked"
        case .cart: "carted"
        case .favorite: "favorited"
        case .purchase: "purchased"
        }
    }
}

/// A name in an event filter that names no event type.
public struct UnknownEventFilter: Error, CustomStringConvertible, Sendable {
    public let name: String
    public var description: String {
        "unknown event type '\(name)' (use \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), or \(EventType.allCases.map(\.pastTense).joined(separator: ", ")))"
    }
}
