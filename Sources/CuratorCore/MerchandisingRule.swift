import Foundation

/// A shop's rule over its lists: pin a product at a place, boost or bury what matches, or block
/// it from every list; optionally on one surface and within a time window (a 618 or 双11 campaign).
public struct MerchandisingRule: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, Hashable, CaseIterable {
        /// One product at a fixed position.
        case pin
        /// Matching products move up by `weight` of the list's score range.
        case boost
        /// Matching products move down by `weight` of the list's score range.
        case bury
        /// Matching products are never shown.
        case block
    }

    /// What a rule matches: one product, a brand, a category path prefix, or products added to
    /// the catalogue within the last `newForDays` days.
    public enum Target: Sendable, Hashable {
        case product(String)
        case brand(String)
        case category(String)
        case newProducts(days: Int)
    }

    /// Unique in a store; the rule's address (`/v1/rules/{name}`).
    public var name: String
    public var kind: Kind
    public var target: Target
    /// 1-based place of a pinned product.
    public var position: Int?
    /// How far a boost or bury moves a product, as a fraction (0, 1] of its list's score range.
    public var weight: Double?
    /// Only lists on this surface; nil: every list (search only for blocks).
    public var surface: Surface?
    /// In force from `startsAtMillis` (inclusive) until `endsAtMillis` (exclusive); nil: unbounded.
    public var startsAtMillis: Int64?
    public var endsAtMillis: Int64?
    public var updatedAtMillis: Int64

    /// The farthest place a pin may name: the longest list a request may ask for.
    public static let maximumPosition = 100
    /// The longest window "new" may mean.
    public static let maximumNewForDays = 365

    public init(name: String, kind: Kind, target: Target, position: Int? = nil, weight: Double? = nil, surface: Surface? = nil,
                startsAtMillis: Int64? = nil, endsAtMillis: Int64? = nil, updatedAtMillis: Int64 = 0) {
        self.name = name
        self.kind = kind
        self.target = target
        self.position = position
        self.weight = weight
        self.surface = surface
        self.startsAtMillis = startsAtMillis
        self.endsAtMillis = endsAtMillis
        self.updatedAtMillis = updatedAtMillis
    }

    /// Whether the rule is in force at `millis`: from its start (inclusive) to its end (exclusive).
    public func isInForce(atMillis millis: Int64) -> Bool {
        if let startsAtMillis, millis < startsAtMillis { return false }
        if let endsAtMillis, millis >= endsAtMillis { return false }
        return true
    }

    /// Whether the rule applies to lists on `surface`. Search results take a rule only when it
    /// names search, or blocks: a blocked product is never shown.
    public func applies(to surface: Surface) -> Bool {
        if let own = self.surface { return own == surface }
        return surface != .search || kind == .block
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, productID = "product_id", brand, category, newForDays = "new_for_days", position, weight, surface
        case startsAt = "starts_at", endsAt = "ends_at", updatedAt = "updated_at"
    }

    /// Checks a rule as sent (`name` from the address); every problem names its field.
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        func text(_ key: CodingKeys) throws -> String? {
            guard fields.contains(key), try !fields.decodeNil(forKey: key) else { return nil }
            guard let value = try? fields.decode(String.self, forKey: key) else { throw RuleError.invalid(field: key.stringValue, "must be a string") }
            return value
        }
        func number<T: Decodable>(_ key: CodingKeys, _ type: T.Type, _ what: String) throws -> T? {
            guard fields.contains(key), try !fields.decodeNil(forKey: key) else { return nil }
            guard let value = try? fields.decode(T.self, forKey: key) else { throw RuleError.invalid(field: key.stringValue, "must be \(what)") }
            return value
        }
        name = try text(.name) ?? ""
        guard let kindText = try text(.kind) else { throw RuleError.invalid(field: "kind", "is required: pin, boost, bury or block") }
        guard let kind = Kind(rawValue: kindText) else {
            throw RuleError.invalid(field: "kind", "'\(kindText.prefix(40))' is not a rule kind (pin, boost, bury or block)")
        }
        self.kind = kind
        var targets: [Target] = []
        if let id = try text(.productID) { targets.append(.product(TextCleaning.identifier(id))) }
        if let brand = try text(.brand) { targets.append(.brand(TextCleaning.clean(brand))) }
        if let category = try text(.category) { targets.append(.category(TextCleaning.clean(category))) }
        if let days = try number(.newForDays, Int.self, "a whole number of days") { targets.append(.newProducts(days: days)) }
        guard targets.count == 1, let target = targets.first else {
            throw RuleError.invalid(field: "product_id", targets.isEmpty
                ? "a rule names what it matches: one of product_id, brand, category or new_for_days"
                : "a rule names one of product_id, brand, category or new_for_days, not \(targets.count)")
        }
        self.target = target
        position = try number(.position, Int.self, "a whole number")
        weight = try number(.weight, Double.self, "a number")
        if let surfaceText = try text(.surface) {
            guard let surface = Surface(rawValue: surfaceText) else {
                throw RuleError.invalid(field: "surface", "'\(surfaceText.prefix(40))' is not a surface (shopper, anonymous, similar or search)")
            }
            self.surface = surface
        }
        startsAtMillis = try Self.time(text(.startsAt), field: "starts_at")
        endsAtMillis = try Self.time(text(.endsAt), field: "ends_at")
        updatedAtMillis = 0
        try checkFields()
    }

    private static func time(_ text: String?, field: String) throws -> Int64? {
        guard let text else { return nil }
        guard let millis = Timestamps.parse(text) else {
            throw RuleError.invalid(field: field, "'\(text.prefix(40))' is not an ISO-8601 time (2026-06-18T00:00:00+08:00)")
        }
        return millis
    }

    /// The rule as a store keeps it: checked, and stamped with the time it was stored.
    public func readyToStore(atMillis millis: Int64) throws -> MerchandisingRule {
        try check()
        var rule = self
        rule.updatedAtMillis = millis
        return rule
    }

    /// The checks a rule passes before it is stored, whatever made it.
    public func check() throws {
        try checkFields()
        try Self.checkName(name)
    }

    /// Every check but the name's (a rule sent over HTTP takes its name from the address).
    func checkFields() throws {
        switch target {
        case .product(let id) where id.isEmpty: throw RuleError.invalid(field: "product_id", "is blank")
        case .brand(let brand) where brand.isEmpty: throw RuleError.invalid(field: "brand", "is blank")
        case .category(let category) where category.isEmpty: throw RuleError.invalid(field: "category", "is blank")
        case .newProducts(let days) where !(1...Self.maximumNewForDays).contains(days):
            throw RuleError.invalid(field: "new_for_days", "must be 1 to \(Self.maximumNewForDays) days, not \(days)")
        default: break
        }
        switch kind {
        case .pin:
            guard case .product = target else { throw RuleError.invalid(field: "product_id", "a pin places one product: name it with product_id") }
            guard let position else { throw RuleError.invalid(field: "position", "a pin needs the position to place its product at (1 to \(Self.maximumPosition))") }
            guard (1...Self.maximumPosition).contains(position) else {
                throw RuleError.invalid(field: "position", "\(position) is past the longest list (positions 1 to \(Self.maximumPosition))")
            }
            if weight != nil { throw RuleError.invalid(field: "weight", "a pin has a position, not a weight") }
        case .boost, .bury:
            guard let weight else { throw RuleError.invalid(field: "weight", "a \(kind.rawValue) needs a weight in (0, 1]: the share of the list's score range it moves a product") }
            guard weight > 0 && weight <= 1 else { throw RuleError.invalid(field: "weight", "must be more than 0 and at most 1, not \(weight)") }
            if position != nil { throw RuleError.invalid(field: "position", "only a pin has a position") }
        case .block:
            if weight != nil { throw RuleError.invalid(field: "weight", "a block has no weight") }
            if position != nil { throw RuleError.invalid(field: "position", "only a pin has a position") }
        }
        if case .newProducts = target, kind != .boost, kind != .bury {
            throw RuleError.invalid(field: "new_for_days", "new products can be boosted or buried, not given a \(kind.rawValue)")
        }
        if let startsAtMillis, let endsAtMillis, endsAtMillis <= startsAtMillis {
            throw RuleError.invalid(field: "ends_at", "the window ends (\(Timestamps.format(millis: endsAtMillis))) before or when it starts (\(Timestamps.format(millis: startsAtMillis)))")
        }
    }

    /// Names are addresses: 1 to 64 letters (any script), digits, '-', '_' or '.'.
    public static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 64 else { throw RuleError.invalid(field: "name", "a rule's name is 1 to 64 characters") }
        let allowed = CharacterSet.letters.union(.decimalDigits).union(CharacterSet(charactersIn: "-_."))
        guard name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw RuleError.invalid(field: "name", "'\(name.prefix(64))' may hold only letters, digits, '-', '_' and '.'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(name, forKey: .name)
        try fields.encode(kind, forKey: .kind)
        switch target {
        case .product(let id): try fields.encode(id, forKey: .productID)
        case .brand(let brand): try fields.encode(brand, forKey: .brand)
        case .category(let category): try fields.encode(category, forKey: .category)
        case .newProducts(let days): try fields.encode(days, forKey: .newForDays)
        }
        try fields.encodeIfPresent(position, forKey: .position)
        try fields.encodeIfPresent(weight, forKey: .weight)
        try fields.encode(surface, forKey: .surface)
        try fields.encode(startsAtMillis.map(Timestamps.format(millis:)), forKey: .startsAt)
        try fields.encode(endsAtMillis.map(Timestamps.format(millis:)), forKey: .endsAt)
        try fields.encode(Timestamps.format(millis: updatedAtMillis), forKey: .updatedAt)
    }

    /// The rule as stored (its JSON text) and read back.
    public func storedJSON() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    public static func fromStored(_ text: String, updatedAtMillis: Int64) throws -> MerchandisingRule {
        var rule = try JSONDecoder().decode(MerchandisingRule.self, from: Data(text.utf8))
        rule.updatedAtMillis = updatedAtMillis
        return rule
    }
}

/// A rule that cannot be stored as sent: the field at fault and why.
public enum RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(field: String, String)

    public var field: String {
        switch self { case .invalid(let field, _): field }
    }

    public var description: String {
        switch self { case .invalid(let field, let message): "field '\(field)': \(message)" }
    }
}
