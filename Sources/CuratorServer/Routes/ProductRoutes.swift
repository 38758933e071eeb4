import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird

/// `/v1/products`: the catalogue — pages and semantic search, one product, its similar
/// products, and (admin) upserts and deletes.
struct ProductController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy
    let metrics: ServerMetrics
    let defaultDiversity: Float

    /// A product as the API shows it.
    struct ProductJSON: ResponseEncodable, Sendable {
        var product: Product
        /// Similarity to the search query, on search results only.
        var score: Float?
        /// 1-based place in the served search results (search only).
        var position: Int?
        /// The merchandising rule that placed or moved it (search only; null when none did).
        var rule: String??

        init(_ product: Product, score: Float? = nil, position: Int? = nil, rule: String?? = nil) {
            self.product = product
            self.score = score
            self.position = position
            self.rule = rule
        }

        enum CodingKeys: String, CodingKey {
            case productID = "product_id", title, description, brand, category, price, inStock = "in_stock", score, position, rule
        }

        func encode(to encoder: any Encoder) throws {
            var fields = encoder.container(keyedBy: CodingKeys.self)
            try fields.encode(product.id, forKey: .productID)
            try fields.encode(product.title, forKey: .title)
            try fields.encode(product.description, forKey: .description)
            try fields.encode(product.brand, forKey: .brand)
            try fields.encode(product.category, forKey: .category)
            try fields.encodeIfPresent(product.price, forKey: .price)
            try fields.encode(product.inStock, forKey: .inStock)
            try fields.encodeIfPresent(score, forKey: .score)
            try fields.encodeIfPresent(position, forKey: .position)
            if let rule { try fields.encode(rule, forKey: .rule) }
        }
    }

    /// A product as a client sends it: fields left out are stored empty (a product is replaced
    /// whole), `price` as a string or a number.
    struct ProductInput: Decodable, Sendable {
        var productID: String?
        var title: String
        var description: String
        var brand: String
        var category: String
        var price: String?
        var inStock: Bool

        enum CodingKeys: String, CodingKey {
            case productID = "product_id", title, description, brand, category, price, inStock = "in_stock"
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body")
            productID = try fields.string(.productID)
            title = try fields.string(.title) ?? ""
            description = try fields.string(.description) ?? ""
            brand = try fields.string(.brand) ?? ""
            category = try fields.string(.category) ?? ""
            price = try fields.canonicalDecimal(.price, mustBe: "a non-negative decimal number")
            inStock = try fields.bool(.inStock) ?? true
            // In a batch every product names itself; checked here, where its path is known. Blank
            // counts as empty: the store trims ids, so " " would be stored as the product "".
            if !fields.path.text.isEmpty, TextCleaning.identifier(productID ?? "").isEmpty {
                throw APIError.badRequest(productID == nil ? "missing field '\(fields.field(.productID))'" : "field '\(fields.field(.productID))' is empty",
                                          field: fields.field(.productID))
            }
        }

        func product(id: String) -> Product {
            Product(id: id, title: title, description: description, brand: brand, category: category, price: price, inStock: inStock)
        }
    }

    /// An array of products or `{"products": [...]}`; at most `ServerConfiguration.maxBatch`.
    struct ProductBatch: Decodable, Sendable {
        var products: [ProductInput]

        init(from decoder: any Decoder) throws {
            products = try Batch<ProductInput>.decode(from: decoder, wrapper: "products", allowSingle: false,
                                                      limit: ServerConfiguration.maxBatch, noun: "products").items
        }
    }

    struct ProductList: ResponseEncodable, Sendable {
        var products: [ProductJSON]
    }

    struct ProductPage: ResponseEncodable, Sendable {
        var items: [ProductJSON]
        var total: Int
        /// On search results: the served list's id, which clicks and impressions name.
        var recommendationID: String?

        enum CodingKeys: String, CodingKey {
            case items, total, recommendationID = "recommendation_id"
        }
    }

    struct Deleted: ResponseEncodable, Sendable {
        var deleted: String
    }

    func addRoutes(to products: RouterGroup<CuratorRequestContext>) {
        products.get { request, context in
            try access.requireCatalogueRead(context.credential)
            let query = FormQuery(request.uri.query)
            let limit = try QueryParameters.integer(query.get("k"), name: "k", default: 24, range: 1...100)
            let offset = try QueryParameters.integer(query.get("offset"), name: "offset", default: 0, range: 0...10_000_000)
            let category = query.get("category").flatMap { $0.isEmpty ? nil : $0 }
            let page: RecommendationEngine.Page
            let q = query.get("q")
            // Counted as sent and in code points (as openapi.yaml's maxLength counts): a count of
            // characters after trimming let one "character" of many combining marks through.
            if let q, q.unicodeScalars.count > 500 { throw APIError.badRequest("'q' is longer than 500 characters", field: "q") }
            if let text = q?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                page = try await engine.search(text: text, category: category, limit: limit)
            } else {
                page = engine.browse(category: category, offset: offset, limit: limit)
            }
            guard page.scores != nil else { return ProductPage(items: page.products.map { ProductJSON($0) }, total: page.total) }
            let items = page.products.enumerated().map { i, product in
                ProductJSON(product, score: page.scores?[i], position: i + 1, rule: .some(page.rules?[i] ?? nil))
            }
            let id = engine.servedSearch(productIDs: page.products.map(\.id), shopperID: context.credential.sessionShopper)
            metrics.recordServed(surface: Surface.search.rawValue, model: "semantic")
            return ProductPage(items: items, total: page.total, recommendationID: id)
        }
        products.post { request, context in
            try access.requireAdmin(context.credential)
            let batch = try await request.decode(as: ProductBatch.self, context: context)
            let stored = try await engine.upsertProducts(batch.products.map { $0.product(id: $0.productID ?? "") })
            return ProductList(products: stored.map { ProductJSON($0) })
        }
        products.get(":id") { request, context in
            try access.requireCatalogueRead(context.credential)
            let id = try context.pathParameter("id")
            guard let product = engine.product(id: id) else { throw APIError.notFound("unknown product '\(id)'") }
            return ProductJSON(product)
        }
        products.put(":id") { request, context in
            try access.requireAdmin(context.credential)
            let id = try context.pathParameter("id")
            guard !TextCleaning.identifier(id).isEmpty else { throw APIError.badRequest("the product id in the path is blank", field: "id") }
            let input = try await request.decode(as: ProductInput.self, context: context)
            if let bodyID = input.productID, bodyID != id {
                throw APIError.badRequest("field 'product_id' ('\(bodyID)') differs from the id in the path ('\(id)')", field: "product_id")
            }
            let stored = try await engine.upsertProducts([input.product(id: id)])
            return ProductJSON(stored[0])
        }
        products.delete(":id") { request, context in
            try access.requireAdmin(context.credential)
            let id = try context.pathParameter("id")
            guard try await engine.deleteProduct(id: id) else { throw APIError.notFound("unknown product '\(id)'") }
            return Deleted(deleted: id)
        }
        products.get(":id/similar") { request, context in
            try access.requireCatalogueRead(context.credential)
            let id = try context.pathParameter("id")
            let query = FormQuery(request.uri.query)
            let k = try QueryParameters.integer(query.get("k"), name: "k", default: 10, range: 1...100)
            let lang = try QueryParameters.language(query.get("lang"))
            guard engine.containsProduct(id: id) else { throw APIError.notFound("unknown product '\(id)'") }
            let (diversity, maxPerCategory) = try QueryParameters.variety(diversity: query.get("diversity"), maxPerCategory: query.get("max_per_category"),
                                                                          defaultDiversity: defaultDiversity)
            let items = try engine.similar(to: id, k: k, language: lang, diversity: diversity, maxPerCategory: maxPerCategory)
            metrics.recordServed(surface: Surface.similar.rawValue, model: "semantic")
            return RecommendationJSON(engine.served(RecommendationList(shopper: "", model: "semantic", items: items), surface: .similar,
                                                    shopperID: context.credential.sessionShopper))
        }
    }
}
