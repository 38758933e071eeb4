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
           case .object(var object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(latest.json.utf8)) {
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

/// Any JSON document, for passing a stored report through unchanged.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
