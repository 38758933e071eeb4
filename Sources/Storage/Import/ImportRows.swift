import CuratorCore
import Foundation

/// One valid row of a catalogue file. A field that is nil was not in the file: the stored value
/// stays as it was (a new product gets the default).
public struct ProductImportRow: Sendable, Equatable {
    public var id: String
    public var title: String?
    public var description: String?
    public var brand: String?
    public var category: String?
    /// Canonical decimal, or nil for none.
    public var price: String?
    /// Whether the file has a price column for this row (an empty one clears the price).
    public var priceGiven: Bool
    public var inStock: Bool?

    static let columns = ["product_id", "title", "description", "brand", "category", "price", "in_stock"]
    static let required: Set<String> = ["product_id"]

    /// The row, or why it is rejected: the one set of rules both stores import by.
    static func parse(_ v: [String?]) -> Result<ProductImportRow, ImportRejection> {
        let id = TextCleaning.identifier(v[0] ?? "")
        if id.isEmpty { return .failure("field 'product_id' is empty") }
        var price: String?
        if let text = v[5], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = FieldParsing.decimal(text) else {
                return .failure(ImportRejection("field 'price': '\(text)' is not a decimal number like 12.50"))
            }
            price = parsed
        }
        var inStock: Bool?
        if let text = v[6], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let parsed = FieldParsing.bool(text) else { return .failure(ImportRejection("field 'in_stock': '\(text)' is not true/false")) }
            inStock = parsed
        }
        let texts = (1...4).map { v[$0].map { TextCleaning.clean($0) } }
        return .success(ProductImportRow(id: id, title: texts[0], description: texts[1], brand: texts[2], category: texts[3],
                                         price: price, priceGiven: v[5] != nil, inStock: inStock))
    }
}

/// One valid row of an events file (its product not yet checked against the store).
public struct EventImportRow: Sendable, Equatable {
    public var shopID: String
    public var productKey: String
    public var type: EventType
    public var timestampMillis: Int64
    public var quantity: Int64?
    /// Canonical decimal, or nil.
    public var price: String?

    static let columns = ["user_id", "product_id", "event", "timestamp", "quantity", "price"]
    static let required: Set<String> = ["user_id", "product_id", "event", "timestamp"]

    static func parse(_ v: [String?]) -> Result<EventImportRow, ImportRejection> {
        let user = TextCleaning.identifier(v[0] ?? "")
        if user.isEmpty { return .failure("field 'user_id' is empty") }
        let productKey = TextCleaning.identifier(v[1] ?? "")
        if productKey.isEmpty { return .failure("field 'product_id' is empty") }
        guard let type = EventType(rawValue: v[2] ?? "")
                ?? EventType(rawValue: (v[2] ?? "").trimmingCharacters(in: .whitespaces).lowercased()) else {
            return .failure(ImportRejection("field 'event': unknown event type '\(v[2] ?? "")' (expected view, click, cart, favorite or purchase)"))
        }
        guard let ts = FieldParsing.timestampMillis(v[3] ?? "") else {
            return .failure(ImportRejection("field 'timestamp': '\(v[3] ?? "")' is not an ISO-8601 time like 2011-01-18T10:01:00Z"))
        }
        var quantity: Int64?
        if let text = v[4], !FieldParsing.isBlank(text) {
            guard let parsed = FieldParsing.quantity(text) else { return .failure(ImportRejection("field 'quantity': '\(text)' is not a whole number")) }
            quantity = parsed
        }
        var price: String?
        if let text = v[5], !FieldParsing.isBlank(text) {
            guard let parsed = FieldParsing.decimal(text) else {
                return .failure(ImportRejection("field 'price': '\(text)' is not a decimal number like 12.50"))
            }
            price = parsed
        }
        return .success(EventImportRow(shopID: user, productKey: productKey, type: type, timestampMillis: ts, quantity: quantity, price: price))
    }

    /// Why a row naming a product the store does not hold is rejected.
    static func unknownProduct(_ key: String) -> String {
        "field 'product_id': " + EventProblem.unknownProductReason(key)
    }
}

/// Why one row is left out of an import.
struct ImportRejection: Error, ExpressibleByStringLiteral {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    init(stringLiteral value: String) { reason = value }
}
