import CuratorCore
import CuratorEngine
import Explanations
import Foundation
import Hummingbird
import Storage

/// The HTTP API: events and products in, explained recommendations out, on the embedded store.
///
/// Every write is committed to SQLite before its response is sent, and the in-memory
/// catalogue is updated in the same request, so the next request already sees it.
public struct CuratorHTTPServer: Sendable {
    public let store: CuratorStore
    public let embedding: CatalogueEmbedding
    public let engine: RecommendationEngine
    public let configuration: ServerConfiguration
    let metrics = ServerMetrics()

    public init(store: CuratorStore, embedding: CatalogueEmbedding, engine: RecommendationEngine, configuration: ServerConfiguration) {
        self.store = store
        self.embedding = embedding
        self.engine = engine
        self.configuration = configuration
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish and returns.
    /// `onListening` gets the bound host and port (useful with port 0).
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "curator"),
            onServerRunning: { channel in
                onListening(configuration.host, channel.localAddress?.port ?? configuration.port)
            })
        // The newest trained model is loaded beside the running server (semantic scoring answers
        // meanwhile, and says so in `model`), then looked for again every modelPollSeconds.
        let watcher = Task.detached { [self] in
            while !Task.isCancelled {
                do { try reloadModel() } catch {
                    FileHandle.standardError.write(Data("curator: could not load the newest model: \(error)\n".utf8))
                }
                guard configuration.modelPollSeconds > 0 else { break }
                try? await Task.sleep(for: .seconds(configuration.modelPollSeconds))
            }
        }
        defer { watcher.cancel() }
        try await app.runService()
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.get("healthz") { _, _ in
            try JSONBody.encode(object: ["status": "ok", "products": engine.catalogue.count,
                                         "model": engine.catalogue.servingModel?.name ?? "semantic"])
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render(productsIndexed: engine.catalogue.count,
                                                                                      model: engine.catalogue.servingModel?.name ?? "semantic"))))
        }
        router.get("openapi.yaml") { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let data = try? Data(contentsOf: url) else { throw APIError(status: .notFound, message: "openapi.yaml is not installed") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        addStorefrontRoutes(to: router)
        let v1 = router.group("v1")
        addCatalogueRoutes(to: v1)
        v1.post("events") { request, _ in try await postEvents(request) }
        v1.put("products/:id") { request, context in try await putProduct(request, id: try context.parameters.require("id")) }
        v1.post("products") { request, _ in try await postProducts(request) }
        v1.delete("products/:id") { request, context in try deleteProduct(request, id: try context.parameters.require("id")) }
        v1.get("products/:id") { request, context in
            try authorize(request, write: nil)
            let id = try context.parameters.require("id")
            guard let product = engine.catalogue.product(id) else { throw APIError(status: .notFound, message: "unknown product '\(id)'") }
            return try JSONBody.encode(ProductJSON(product))
        }
        v1.get("products/:id/similar") { request, context in
            try authorize(request, write: nil)
            let id = try context.parameters.require("id")
            let query = request.uri.queryParameters
            let k = try Self.intParameter(query.get("k"), name: "k", default: 10, range: 1...100)
            let lang = try Self.language(query.get("lang"))
            guard engine.catalogue.contains(id) else { throw APIError(status: .notFound, message: "unknown product '\(id)'") }
            let items = try engine.similar(to: id, k: k, language: lang)
            return RecommendationJSON(RecommendationList(shopper: "", model: "semantic", items: items)).response
        }
        v1.get("shoppers/:id") { request, context in
            try authorize(request, write: nil)
            let id = try context.parameters.require("id")
            guard let summary = try store.shopperSummary(shopID: id) else {
                throw APIError(status: .notFound, message: "no events for shopper '\(id)'")
            }
            var counts: [String: Int] = [:]
            for type in EventType.allCases { counts[type.rawValue] = summary.counts[type] ?? 0 }
            let recent = summary.recent.map { event -> [String: Any] in
                var object: [String: Any] = ["product_id": event.productID, "event": event.type.rawValue,
                                             "timestamp": Timestamps.format(millis: event.timestampMillis)]
                if let title = engine.catalogue.product(event.productID)?.title { object["title"] = title }
                return object
            }
            return try JSONBody.encode(object: ["shopper": id, "counts": counts, "recent_events": recent])
        }
        v1.get("shoppers/:id/recommendations") { request, context in
            try authorize(request, write: nil)
            let id = try context.parameters.require("id")
            let recommendationRequest = try Self.recommendationRequest(request.uri.queryParameters)
            return RecommendationJSON(try engine.recommend(shopper: id, request: recommendationRequest)).response
        }
        v1.post("recommendations") { request, _ in
            try authorize(request, write: nil)
            var request = request
            let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
            guard let object = try JSONBody.parse(body) as? [String: Any] else {
                throw APIError.badRequest("the body must be a JSON object like {\"viewed\": [\"P1\", \"P2\"]}")
            }
            guard let viewed = object["viewed"] as? [Any] else {
                throw APIError.badRequest("field 'viewed' must be an array of product ids", field: "viewed")
            }
            var history: [(productID: String, type: EventType, timestampMillis: Int64)] = []
            for (i, value) in viewed.enumerated() {
                guard let id = (value as? String) ?? (value as? NSNumber).map({ $0.stringValue }) else {
                    throw APIError.badRequest("field 'viewed[\(i)]' must be a product id", field: "viewed[\(i)]")
                }
                history.append((id, .view, Int64(i)))
            }
            var query: [String: String] = [:]
            for key in ["k", "lang", "category", "min_price", "max_price", "exclude", "exclude_ids"] {
                if let value = object[key], !(value is NSNull) {
                    if let array = value as? [Any] {
                        query[key] = array.map { "\($0)" }.joined(separator: ",")
                    } else {
                        query[key] = "\(value)"
                    }
                }
            }
            let recommendationRequest = try Self.recommendationRequest(query)
            return RecommendationJSON(engine.recommend(shopper: "anonymous", history: history, request: recommendationRequest)).response
        }
        return router
    }

    // MARK: Writes

    func postEvents(_ request: Request) async throws -> Response {
        try authorize(request, write: .events)
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        let parsed = try JSONBody.parse(body)
        let list: [Any]
        let prefix: String
        if let object = parsed as? [String: Any], let events = object["events"] {
            guard let array = events as? [Any] else { throw APIError.badRequest("field 'events' must be an array", field: "events") }
            list = array
            prefix = "events"
        } else if let array = parsed as? [Any] {
            list = array
            prefix = ""
        } else if parsed is [String: Any] {
            list = [parsed]
            prefix = ""
        } else {
            throw APIError.badRequest("the body must be an event object, an array of events or {\"events\": [...]}")
        }
        guard !list.isEmpty else { throw APIError.badRequest("no events in the request", field: prefix.isEmpty ? nil : prefix) }
        guard list.count <= 10_000 else {
            throw APIError(status: .contentTooLarge, message: "at most 10,000 events per request (got \(list.count))", field: prefix.isEmpty ? nil : prefix)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var events: [Event] = []
        events.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            let path = list.count == 1 && prefix.isEmpty ? "" : "\(prefix)[\(i)]."
            guard let object = item as? [String: Any] else { throw APIError.badRequest("\(path.isEmpty ? "the event" : String(path.dropLast())) must be a JSON object") }
            guard let user = try JSONBody.string(object, "user_id", path: path, required: true), !user.isEmpty else {
                throw APIError.badRequest("field '\(path)user_id' is empty", field: path + "user_id")
            }
            let product = try JSONBody.string(object, "product_id", path: path, required: true)!
            let typeText = try JSONBody.string(object, "event", path: path, required: true)!
            guard let type = EventType(rawValue: typeText.lowercased()) else {
                throw APIError.badRequest("field '\(path)event': unknown event type '\(typeText)' (expected view, click, cart, favorite or purchase)", field: path + "event")
            }
            var timestamp = now
            if let text = try JSONBody.string(object, "timestamp", path: path) {
                guard let parsed = Timestamps.parse(text) else {
                    throw APIError.badRequest("field '\(path)timestamp': '\(text)' is not an ISO-8601 time like 2024-01-18T10:01:00Z", field: path + "timestamp")
                }
                timestamp = parsed
            }
            var quantity: Int64?
            if let number = try JSONBody.number(object, "quantity", path: path) {
                guard let whole = Int64(exactly: number.doubleValue) else {
                    throw APIError.badRequest("field '\(path)quantity' must be a whole number", field: path + "quantity")
                }
                quantity = whole
            }
            var price: String?
            if let text = try JSONBody.string(object, "price", path: path) {
                guard let canonical = Decimals.canonical(text) else {
                    throw APIError.badRequest("field '\(path)price': '\(text)' is not a decimal number", field: path + "price")
                }
                price = canonical
            }
            events.append(Event(shopperID: user, productID: product, type: type, timestampMillis: timestamp, quantity: quantity, price: price))
        }
        // Stored, and the new ones (not re-sent duplicates) applied to popularity, before the response.
        let result = try engine.record(events)
        if !result.problems.isEmpty {
            throw APIError(status: .unprocessableContent,
                           message: "\(result.problems.count) event\(result.problems.count == 1 ? " names an unknown product" : "s name unknown products"); none of this batch was stored",
                           items: result.problems.map { ["index": $0.index, "field": $0.field, "reason": $0.reason, "product_id": events[$0.index].productID] })
        }
        metrics.recordEvents(result.inserted)
        return try JSONBody.encode(object: ["stored": result.inserted, "duplicates": result.duplicates], status: .ok)
    }

    func putProduct(_ request: Request, id: String) async throws -> Response {
        try authorize(request, write: .admin)
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        guard let object = try JSONBody.parse(body) as? [String: Any] else { throw APIError.badRequest("the body must be a JSON product object") }
        if let bodyID = try JSONBody.string(object, "product_id", path: ""), bodyID != id {
            throw APIError.badRequest("field 'product_id' ('\(bodyID)') differs from the id in the path ('\(id)')", field: "product_id")
        }
        let product = try Self.product(from: object, id: id, path: "")
        let stored = try await upsert([product])
        return try JSONBody.encode(ProductJSON(stored[0]))
    }

    func postProducts(_ request: Request) async throws -> Response {
        try authorize(request, write: .admin)
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        let parsed = try JSONBody.parse(body)
        let list: [Any]
        var prefix = ""
        if let object = parsed as? [String: Any], let products = object["products"] as? [Any] {
            list = products
            prefix = "products"
        } else if let array = parsed as? [Any] {
            list = array
        } else {
            throw APIError.badRequest("the body must be an array of products or {\"products\": [...]}")
        }
        guard !list.isEmpty, list.count <= 10_000 else { throw APIError.badRequest("send 1 to 10,000 products", field: prefix.isEmpty ? nil : prefix) }
        var products: [Product] = []
        for (i, item) in list.enumerated() {
            let path = "\(prefix)[\(i)]."
            guard let object = item as? [String: Any] else { throw APIError.badRequest("\(path.dropLast()) must be a JSON object") }
            guard let id = try JSONBody.string(object, "product_id", path: path, required: true), !id.isEmpty else {
                throw APIError.badRequest("field '\(path)product_id' is empty", field: path + "product_id")
            }
            products.append(try Self.product(from: object, id: id, path: path))
        }
        let stored = try await upsert(products)
        return try JSONBody.encode(["products": stored.map { ProductJSON($0) }])
    }

    /// Stores, encodes and indexes products; the response is sent only when they can be recommended.
    func upsert(_ products: [Product]) async throws -> [Product] {
        let stored = try store.upsertProducts(products)
        let vectors = try embedding.vectors(for: stored.map(\.product))
        for (entry, vector) in zip(stored, vectors) { try engine.catalogue.upsert(entry.product, storeID: entry.rowID, vector: vector) }
        return stored.map(\.product)
    }

    func deleteProduct(_ request: Request, id: String) throws -> Response {
        try authorize(request, write: .admin)
        guard try store.deleteProduct(id: id) else { throw APIError(status: .notFound, message: "unknown product '\(id)'") }
        engine.catalogue.remove(id)
        return try JSONBody.encode(object: ["deleted": id])
    }

    static func product(from object: [String: Any], id: String, path: String) throws -> Product {
        var price: String?
        if let text = try JSONBody.string(object, "price", path: path) {
            guard let canonical = Decimals.canonical(text) else {
                throw APIError.badRequest("field '\(path)price': '\(text)' is not a non-negative decimal number", field: path + "price")
            }
            price = canonical
        }
        return Product(
            id: id, title: try JSONBody.string(object, "title", path: path) ?? "",
            description: try JSONBody.string(object, "description", path: path) ?? "",
            brand: try JSONBody.string(object, "brand", path: path) ?? "",
            category: try JSONBody.string(object, "category", path: path) ?? "",
            price: price, inStock: try JSONBody.bool(object, "in_stock", path: path) ?? true)
    }

    // MARK: Requests

    /// Checks the bearer key: `write` nil for reads (open unless configured), else the scope needed.
    func authorize(_ request: Request, write: ServerConfiguration.Scope?) throws {
        let keys = configuration.apiKeys
        if write == nil && !configuration.authenticateReads { return }
        if keys.isEmpty { return }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(status: .unauthorized, message: "this request needs an API key: Authorization: Bearer <key>")
        }
        guard let scope = keys[String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)] else {
            throw APIError(status: .unauthorized, message: "unknown API key")
        }
        if write == .admin && scope != .admin {
            throw APIError(status: .forbidden, message: "this key may record events and read, not change products or models")
        }
    }

    static func intParameter(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound) (got '\(text)')", field: name)
        }
        return number
    }

    static func language(_ text: String?) throws -> ReasonLanguage {
        guard let text, !text.isEmpty else { return .en }
        guard let language = ReasonLanguage(rawValue: text.lowercased()) else {
            throw APIError.badRequest("'lang' must be en or zh (got '\(text)')", field: "lang")
        }
        return language
    }

    static func recommendationRequest<Query: QueryLookup>(_ query: Query) throws -> RecommendationRequest {
        var request = RecommendationRequest()
        request.k = try intParameter(query.value("k"), name: "k", default: 10, range: 1...100)
        request.language = try language(query.value("lang"))
        if let category = query.value("category"), !category.isEmpty { request.category = category }
        for name in ["min_price", "max_price"] {
            guard let text = query.value(name), !text.isEmpty else { continue }
            guard let value = Double(text), value >= 0 else { throw APIError.badRequest("'\(name)' must be a non-negative number (got '\(text)')", field: name) }
            if name == "min_price" { request.minPrice = value } else { request.maxPrice = value }
        }
        if let exclude = query.value("exclude") {
            var types = Set<EventType>()
            for item in exclude.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !item.isEmpty {
                let names: [String: EventType] = ["purchased": .purchase, "viewed": .view, "carted": .cart, "clicked": .click, "favorited": .favorite]
                guard let type = names[item] ?? EventType(rawValue: item) else {
                    throw APIError.badRequest("'exclude': unknown value '\(item)' (use purchased, viewed, cart, clicked, favorited)", field: "exclude")
                }
                types.insert(type)
            }
            request.exclude = types
        }
        if let ids = query.value("exclude_ids") {
            request.excludeIDs = Set(ids.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        return request
    }
}

/// Lets query parameters and a JSON body's fields feed the same parser.
protocol QueryLookup { func value(_ name: String) -> String? }
extension Dictionary: QueryLookup where Key == String, Value == String { func value(_ name: String) -> String? { self[name] } }
extension Hummingbird.Parameters: QueryLookup { func value(_ name: String) -> String? { self.get(name) } }

/// A product as the API shows it.
struct ProductJSON: Encodable {
    var product_id: String
    var title: String
    var description: String
    var brand: String
    var category: String
    var price: String?
    var in_stock: Bool
    var score: Float?

    init(_ product: Product, score: Float? = nil) {
        self.score = score
        product_id = product.id
        title = product.title
        description = product.description
        brand = product.brand
        category = product.category
        price = product.price
        in_stock = product.inStock
    }
}
