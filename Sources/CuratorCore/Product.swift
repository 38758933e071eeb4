/// A catalogue entry in the interchange format, after cleaning.
public struct Product: Sendable, Hashable, Codable {
    /// The shop's id; unique within a store.
    public var id: String
    public var title: String
    public var description: String
    public var brand: String
    public var category: String
    /// Canonical decimal text, or nil when the shop gave none.
    public var price: String?
    public var inStock: Bool

    public init(id: String, title: String = "", description: String = "", brand: String = "",
                category: String = "", price: String? = nil, inStock: Bool = true) {
        self.id = id
        self.title = title
        self.description = description
        self.brand = brand
        self.category = category
        self.price = price
        self.inStock = inStock
    }

    /// The price as a number for filtering and display; the text stays the source of truth.
    public var priceValue: Double? { price.flatMap(Double.init) }
}
