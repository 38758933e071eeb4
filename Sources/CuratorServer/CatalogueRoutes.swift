import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import Storage

/// Reads a storefront or an operator needs beside recommendations: catalogue pages and search,
/// the category tree, recent shoppers, and the models with their latest evaluation.
extension CuratorHTTPServer {
    func addCatalogueRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.get("products") { request, _ in
            try authorize(request, write: nil)
            let query = request.uri.queryParameters
            let limit = try Self.intParameter(query.get("k"), name: "k", default: 24, range: 1...100)
            let offset = try Self.intParameter(query.get("offset"), name: "offset", default: 0, range: 0...10_000_000)
            let category = query.get("category").flatMap { $0.isEmpty ? nil : $0 }
            let page: RecommendationEngine.Page
            if let text = query.get("q")?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                guard text.count <= 500 else { throw APIError.badRequest("'q' is longer than 500 characters", field: "q") }
                let vector = Array(embedding.encoder.encodeMatrix([text], role: .query)[0])
                page = engine.search(vector: vector, category: category, limit: limit)
            } else {
                page = engine.browse(category: category, offset: offset, limit: limit)
            }
            let items = page.products.enumerated().map { i, product in
                ProductJSON(product, score: page.scores?[i])
            }
            return try JSONBody.encode(ProductPage(items: items, total: page.total))
        }
        v1.get("categories") { request, _ in
            try authorize(request, write: nil)
            let tree = engine.categories()
            return try JSONBody.encode(object: [
                "departments": tree.departments.map { ["name": $0.name, "count": $0.count] },
                "categories": tree.categories.map { ["name": $0.name, "count": $0.count] },
            ])
        }
        v1.get("shoppers") { request, _ in
            try authorize(request, write: nil)
            let limit = try Self.intParameter(request.uri.queryParameters.get("limit"), name: "limit", default: 20, range: 1...1000)
            let shoppers = try store.recentShoppers(limit: limit).map { shopper -> [String: Any] in
                ["shopper": "~" + shopper.pseudonym, "events": shopper.events,
                 "last_seen": Timestamps.format(millis: shopper.lastSeenMillis), "top_category": shopper.topCategory]
            }
            return try JSONBody.encode(object: ["shoppers": shoppers])
        }
        v1.get("models") { request, _ in
            try authorize(request, write: nil)
            return try JSONBody.encode(object: try modelsOverview())
        }
        v1.post("models/reload") { request, _ in
            try authorize(request, write: .admin)
            try reloadModel()
            return try JSONBody.encode(object: ["in_use": modelInUse()])
        }
    }

    func modelInUse() -> [String: Any] {
        guard let model = engine.catalogue.servingModel else { return ["name": "semantic"] }
        return ["name": model.name, "version": model.version, "trained_at": Timestamps.format(millis: model.createdAtMillis)]
    }

    /// Swaps in the newest trained model if it is not the one in use.
    func reloadModel() throws {
        let before = engine.catalogue.servingModel.map { "\($0.name) v\($0.version)" }
        let after = try engine.loadLatestModel().map { "\($0.name) v\($0.version)" }
        if before != after { FileHandle.standardError.write(Data("curator: now serving \(after ?? "semantic")\n".utf8)) }
    }

    func modelsOverview() throws -> [String: Any] {
        let models = try store.models().map { model -> [String: Any] in
            ["name": model.name, "version": model.version, "trained_at": Timestamps.format(millis: model.createdAtMillis)]
        }
        var evaluation: Any = NSNull()
        if let latest = try store.latestEvaluation(),
           var object = try? JSONSerialization.jsonObject(with: Data(latest.json.utf8)) as? [String: Any] {
            object["created_at"] = Timestamps.format(millis: latest.createdAtMillis)
            evaluation = object
        }
        let totals = try store.eventTotals()
        var counts: [String: Int] = [:]
        for type in EventType.allCases { counts[type.rawValue] = totals.counts[type] ?? 0 }
        return ["in_use": modelInUse(), "models": models, "evaluation": evaluation,
                "catalogue": ["products": engine.catalogue.count], "events": counts, "shoppers": totals.shoppers]
    }

    func addStorefrontRoutes(to router: Router<BasicRequestContext>) {
        let files = StorefrontFiles()
        router.get("/") { _, _ in try files.response(for: "index.html") }
        router.get("storefront/config.json") { _, _ in
            // With keys on, the page runs on the storefront key: it can record events and read, nothing more.
            try JSONBody.encode(object: ["api_key": configuration.storefrontKey.map { $0 as Any } ?? NSNull(),
                                         "keys_required": !configuration.apiKeys.isEmpty])
        }
        router.get("storefront/:file") { _, context in try files.response(for: try context.parameters.require("file")) }
    }
}

struct ProductPage: Encodable {
    var items: [ProductJSON]
    var total: Int
}
