import CuratorCore
import Foundation

extension Product {
    /// The product as a store keeps it (either store): text cleaned as on import, e-mail
    /// addresses and phone numbers masked, the id trimmed, the price in canonical decimal form.
    public func cleanedForStore() -> Product {
        Product(id: TextCleaning.identifier(id), title: TextCleaning.clean(title), description: TextCleaning.clean(description),
                brand: TextCleaning.clean(brand), category: TextCleaning.clean(category), price: price.flatMap(FieldParsing.decimal),
                inStock: inStock)
    }
}
