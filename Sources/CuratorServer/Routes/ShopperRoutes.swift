import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird

/// `/v1/shoppers`: shopper data — the list (admin), one shopper's history, and their
/// recommendations. Every route here needs a key or that shopper's session token unless the
/// server runs with `--open-shopper-reads`.
struct ShopperController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy
    let metrics: ServerMetrics
    let defaultDiversity: Float

    struct ShopperListing: ResponseEncodable, Sendable {
        struct Entry: Encodable, Sendable {
            /// `~` + the stored pseudonym: usable wherever a shopper id is, never the shop's clear id.
            var shopper: String
            var events: Int
            var lastSeen: String
            var topCategory: String

            enum CodingKeys: String, CodingKey {
                case shopper, events, lastSeen = "last_seen", topCategory = "top_category"
            }
        }

        var shoppers: [Entry]
    }

    struct ShopperSummary: ResponseEncodable, Sendable {
        struct RecentEvent: Encodable, Sendable {
            var productID: String
            var event: String
            var timestamp: String
            /// Nil once the product has left the catalogue.
            var title: String?

            enum CodingKeys: String, CodingKey {
                case productID = "product_id", event, timestamp, title
            }
        }

        var shopper: String
        var counts: [String: Int]
        var recentEvents: [RecentEvent]

        enum CodingKeys: String, CodingKey {
            case shopper, counts, recentEvents = "recent_events"
        }
    }

    struct Preferences: ResponseEncodable, Sendable {
        var shopper: String
        var personalised: Bool
    }

    struct PreferencesInput: Decodable, Sendable {
        var personalised: Bool

        enum CodingKeys: String, CodingKey {
            case personalised
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body (a JSON object like {\"personalised\": false})")
            guard let personalised = try fields.bool(.personalised) else { throw APIError.badRequest("missing field 'personalised'", field: "personalised") }
            self.personalised = personalised
        }
    }

    struct Erased: ResponseEncodable, Sendable {
        var erased: String
    }

    func addRoutes(to shoppers: RouterGroup<CuratorRequestContext>) {
        shoppers.get(":id/preferences") { _, context in
            let id = try context.pathParameter("id")
            guard !TextCleaning.identifier(id).isEmpty else { throw APIError.badRequest("the shopper id in the path is blank", field: "id") }
            try access.requireShopperSettings(context.credential, shopper: id)
            return Preferences(shopper: id, personalised: engine.isPersonalised(shopID: id))
        }
        shoppers.put(":id/preferences") { request, context in
            let id = try context.pathParameter("id")
            guard !TextCleaning.identifier(id).isEmpty else { throw APIError.badRequest("the shopper id in the path is blank", field: "id") }
            try access.requireShopperSettings(context.credential, shopper: id)
            let input = try await request.decode(as: PreferencesInput.self, context: context)
            try await engine.setPersonalised(input.personalised, shopID: id)
            return Preferences(shopper: id, personalised: input.personalised)
        }
        shoppers.delete(":id") { _, context in
            let id = try context.pathParameter("id")
            try access.requireErasure(context.credential, shopper: id)
            guard try await engine.eraseShopper(shopID: id) else { throw APIError.notFound("nothing is stored about shopper '\(id)'") }
            return Erased(erased: id)
        }
        shoppers.get { request, context in
            try access.requireShopperList(context.credential)
            let limit = try QueryParameters.integer(FormQuery(request.uri.query).get("limit"), name: "limit", default: 20, range: 1...1000)
            let recent = try await engine.recentShoppers(limit: limit)
            return ShopperListing(shoppers: recent.map {
                .init(shopper: "~" + $0.pseudonym, events: $0.events, lastSeen: Timestamps.format(millis: $0.lastSeenMillis), topCategory: $0.topCategory)
            })
        }
        shoppers.get(":id") { _, context in
            let id = try context.pathParameter("id")
            try access.requireShopperRead(context.credential, shopper: id)
            guard let activity = try await engine.shopperActivity(shopID: id) else { throw APIError.notFound("no events for shopper '\(id)'") }
            var counts: [String: Int] = [:]
            for type in EventType.allCases { counts[type.rawValue] = activity.counts[type] ?? 0 }
            let recent = activity.recent.map {
                ShopperSummary.RecentEvent(productID: $0.productID, event: $0.type.rawValue, timestamp: Timestamps.format(millis: $0.timestampMillis),
                                           title: $0.title)
            }
            return ShopperSummary(shopper: id, counts: counts, recentEvents: recent)
        }
        shoppers.get(":id/recommendations") { request, context in
            let id = try context.pathParameter("id")
            try access.requireShopperRead(context.credential, shopper: id)
            let query = FormQuery(request.uri.query)
            let options = try QueryParameters.recommendationRequest(
                k: query.get("k"), lang: query.get("lang"), category: query.get("category"), minPrice: query.get("min_price"),
                maxPrice: query.get("max_price"), exclude: QueryParameters.commaSeparated(query.get("exclude")),
                excludeIDs: QueryParameters.commaSeparated(query.get("exclude_ids")), diversity: query.get("diversity"),
                maxPerCategory: query.get("max_per_category"), defaultDiversity: defaultDiversity)
            do {
                let list = try await engine.serveRecommendations(shopper: id, request: options)
                metrics.recordServed(surface: Surface.shopper.rawValue, model: list.model)
                return RecommendationJSON(list)
            } catch is StoreUnavailable {
                // From memory: the shopper's history is in the store, so what is popular now.
                let choice: ModelChoice = engine.isPersonalised(shopID: id) ? .automatic : .withoutPersonalisation
                let list = engine.served(engine.recommend(shopper: id, history: [], request: options, model: choice), surface: .shopper, shopperID: id)
                metrics.recordServed(surface: Surface.shopper.rawValue, model: list.model)
                var json = RecommendationJSON(list)
                json.degraded = true
                return json
            }
        }
    }
}

/// `POST /v1/recommendations`: recommendations for a history the caller sends (an anonymous
/// session that keeps its own history), no shopper data involved.
struct RecommendationController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy
    let metrics: ServerMetrics
    let defaultDiversity: Float

    struct AnonymousRecommendationRequest: Decodable, Sendable {
        var viewed: [String]
        var options: RecommendationRequest
        /// Sent values; the server's default diversity is applied by the route.
        var diversity: String?
        var maxPerCategory: String?

        enum CodingKeys: String, CodingKey {
            case viewed, k, lang, category, minPrice = "min_price", maxPrice = "max_price", exclude, excludeIDs = "exclude_ids", diversity
            case maxPerCategory = "max_per_category"
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body (a JSON object like {\"viewed\": [\"P1\", \"P2\"]})")
            guard let viewed = try fields.stringList(.viewed) else {
                throw APIError.badRequest("field 'viewed' must be an array of product ids", field: "viewed")
            }
            self.viewed = try QueryParameters.idList(viewed, name: "viewed")
            options = try QueryParameters.recommendationRequest(
                k: try fields.string(.k), lang: try fields.string(.lang), category: try fields.string(.category),
                minPrice: try fields.string(.minPrice), maxPrice: try fields.string(.maxPrice),
                exclude: try fields.stringList(.exclude), excludeIDs: try fields.stringList(.excludeIDs))
            diversity = try fields.string(.diversity)
            maxPerCategory = try fields.string(.maxPerCategory)
        }
    }

    func addRoutes(to recommendations: RouterGroup<CuratorRequestContext>) {
        recommendations.post { request, context in
            try access.requireCatalogueRead(context.credential)
            var body = try await request.decode(as: AnonymousRecommendationRequest.self, context: context)
            (body.options.diversity, body.options.maxPerCategory) = try QueryParameters.variety(
                diversity: body.diversity, maxPerCategory: body.maxPerCategory, defaultDiversity: defaultDiversity)
            let history = body.viewed.enumerated().map { (productID: $1, type: EventType.view, timestampMillis: Int64($0)) }
            let list = engine.serveRecommendations(history: history, sessionShopper: context.credential.sessionShopper, request: body.options)
            metrics.recordServed(surface: Surface.anonymous.rawValue, model: list.model)
            return RecommendationJSON(list)
        }
    }
}
