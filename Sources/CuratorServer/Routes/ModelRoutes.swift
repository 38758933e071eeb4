import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import Logging

/// `/v1/models`: the model in use, saved versions, the newest evaluation and counts; and
/// (admin) swapping in the newest trained model now.
struct ModelController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy
    let logger: Logger

    struct ModelInUse: Encodable, Sendable {
        var name: String
        var version: Int?
        var trainedAt: String?

        enum CodingKeys: String, CodingKey {
            case name, version, trainedAt = "trained_at"
        }
    }

    struct ModelsOverview: ResponseEncodable, Sendable {
        struct Catalogue: Encodable, Sendable { var products: Int }

        var inUse: ModelInUse
        var models: [ModelInUse]
        /// The newest `curator evaluate` report as it was saved, plus `created_at`; null before the first.
        var evaluation: JSONValue
        var catalogue: Catalogue
        var events: [String: Int]
        var shoppers: Int

        enum CodingKeys: String, CodingKey {
            case inUse = "in_use", models, evaluation, catalogue, events, shoppers
        }
    }

    struct ModelReloaded: ResponseEncodable, Sendable {
        var inUse: ModelInUse

        enum CodingKeys: String, CodingKey { case inUse = "in_use" }
    }

    func addRoutes(to models: RouterGroup<CuratorRequestContext>) {
        models.get { _, context in
            try access.requireCatalogueRead(context.credential)
            return try await overview()
        }
        models.post("reload") { _, context in
            try access.requireAdmin(context.credential)
            try await ModelWatcher.reload(engine, logger: logger)
            return ModelReloaded(inUse: ModelInUse(engine.modelInUse))
        }
    }

    func overview() async throws -> ModelsOverview {
        let shop = try await engine.overview()
        var evaluation = JSONValue.null
        if let latest = shop.evaluation,
           case .object(var object)? = try? CuratorJSON.decode(JSONValue.self, from: latest.json) {
            object["created_at"] = .string(Timestamps.format(millis: latest.createdAtMillis))
            evaluation = .object(object)
        }
        var counts: [String: Int] = [:]
        for type in EventType.allCases { counts[type.rawValue] = shop.events[type] ?? 0 }
        return ModelsOverview(inUse: ModelInUse(shop.inUse), models: shop.saved.map(ModelInUse.init), evaluation: evaluation,
                              catalogue: .init(products: shop.products), events: counts, shoppers: shop.shoppers)
    }
}

extension ModelController.ModelInUse {
    /// Nil: the language-model vectors alone ("semantic").
    init(_ model: ModelVersion?) {
        guard let model else {
            self.init(name: "semantic")
            return
        }
        self.init(model)
    }

    init(_ model: ModelVersion) {
        self.init(name: model.name, version: model.version, trainedAt: Timestamps.format(millis: model.trainedAtMillis))
    }
}
