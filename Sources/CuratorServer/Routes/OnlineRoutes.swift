import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird
import OnlineMeasurement

extension APIError {
    /// The HTTP answer to a refused online-loop request.
    init(_ error: OnlineRequestError) {
        switch error {
        case .invalid(let field, let message): self = .badRequest(message, field: field)
        case .unknownList, .unknownExperiment: self = .notFound(error.description)
        case .otherShoppersList: self = .forbidden(error.description)
        case .conflict: self = APIError(status: .conflict, message: error.description)
        }
    }

    /// `body`, with the engine's refusals as API errors.
    static func mappingOnlineErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as OnlineRequestError { throw APIError(error) }
    }
}

/// `POST /v1/impressions`: which cards of a served list the shopper saw (the storefront reports
/// them as they scroll into view). A session token reports its own shopper's lists only.
struct ImpressionController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy

    struct ImpressionInput: Decodable, Sendable {
        var recommendationID: String
        var seen: [Int]

        enum CodingKeys: String, CodingKey {
            case recommendationID = "recommendation_id", seen
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body (a JSON object like {\"recommendation_id\": \"…\", \"seen\": [1, 2]})")
            recommendationID = try fields.requiredString(.recommendationID)
            guard let seen = try fields.wholeNumbers(.seen) else { throw APIError.badRequest("missing field 'seen'", field: "seen") }
            guard !seen.isEmpty, seen.count <= 1_000 else { throw APIError.badRequest("field 'seen' must list 1 to 1000 positions", field: "seen") }
            self.seen = seen
        }
    }

    struct Recorded: ResponseEncodable, Sendable {
        var recommendationID: String
        var seen: Int

        enum CodingKeys: String, CodingKey {
            case recommendationID = "recommendation_id", seen
        }
    }

    func addRoutes(to impressions: RouterGroup<CuratorRequestContext>) {
        impressions.post { request, context in
            try access.requireEventWrite(context.credential, shoppers: [])
            let body = try await request.decode(as: ImpressionInput.self, context: context)
            try await APIError.mappingOnlineErrors {
                try await engine.recordSeen(recommendationID: body.recommendationID, positions: body.seen, shopperID: context.credential.sessionShopper)
            }
            return Recorded(recommendationID: body.recommendationID, seen: Set(body.seen).count)
        }
    }
}

/// `GET /v1/metrics/online` (admin): what served lists earned, grouped.
struct OnlineMetricsController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy

    func addRoutes(to metrics: RouterGroup<CuratorRequestContext>) {
        metrics.get("online") { request, context in
            try access.requireAdmin(context.credential)
            let query = FormQuery(request.uri.query)
            let now = Timestamps.nowMillis()
            let until = try Self.time(query.get("until"), name: "until") ?? now + 1
            let since = try Self.time(query.get("since"), name: "since") ?? until - 7 * 86_400_000
            guard since < until else { throw APIError.badRequest("'since' must be before 'until'", field: "since") }
            let groupText = query.get("group_by") ?? "model"
            guard let grouping = OnlineReport.Grouping.list(groupText) else {
                throw APIError.badRequest("'group_by': '\(groupText)' is not one of model, variant, surface, position, day, or several joined by commas (day,model)",
                                          field: "group_by")
            }
            return try await engine.onlineReport(sinceMillis: since, untilMillis: until, groupBy: grouping)
        }
    }

    static func time(_ text: String?, name: String) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let millis = Timestamps.parse(text) else {
            throw APIError.badRequest("'\(name)': '\(text.prefix(40))' is not an ISO-8601 time like 2026-12-01T00:00:00Z", field: name)
        }
        return millis
    }
}

extension OnlineReport: ResponseEncodable {}
extension ExperimentStatus: ResponseEncodable {}
extension Experiment: ResponseEncodable {}

/// `/v1/experiments` (admin): split a surface's traffic between models (A/B, or team-draft
/// interleaving of two), see how each variant does, stop.
struct ExperimentController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy

    struct ExperimentInput: Decodable, Sendable {
        var name: String
        var surface: Surface
        var method: Experiment.Method
        var variants: [Experiment.Variant]

        enum CodingKeys: String, CodingKey {
            case name, surface, method, variants
        }

        enum VariantKeys: String, CodingKey {
            case name, model, weight
        }

        init(from decoder: any Decoder) throws {
            let fields = try FieldReader(decoder, keyedBy: CodingKeys.self, what: "the body (a JSON object with name, surface, variants)")
            name = try fields.requiredString(.name)
            let surfaceText = try fields.string(.surface) ?? "shopper"
            guard let surface = Surface(rawValue: surfaceText) else {
                throw APIError.badRequest("field 'surface': '\(surfaceText)' is not shopper, anonymous, similar or search", field: "surface")
            }
            self.surface = surface
            let methodText = try fields.string(.method) ?? "ab"
            guard let method = Experiment.Method(rawValue: methodText) else {
                throw APIError.badRequest("field 'method': '\(methodText)' is not ab or interleave", field: "method")
            }
            self.method = method
            guard fields.container.contains(.variants), var list = try? fields.container.nestedUnkeyedContainer(forKey: .variants) else {
                throw APIError.badRequest("field 'variants' must be an array like [{\"name\": \"A\", \"model\": \"popular\", \"weight\": 1}]", field: "variants")
            }
            var variants: [Experiment.Variant] = []
            while !list.isAtEnd {
                let index = list.currentIndex
                guard let variantDecoder = try? list.superDecoder() else { break }
                let variant = try FieldReader(variantDecoder, keyedBy: VariantKeys.self, what: "variants[\(index)]")
                let weight = try variant.number(.weight) ?? 1
                variants.append(Experiment.Variant(name: try variant.requiredString(.name), model: try variant.requiredString(.model), weight: weight))
            }
            self.variants = variants
        }
    }

    struct ExperimentListing: ResponseEncodable, Sendable {
        var experiments: [Experiment]
    }

    func addRoutes(to experiments: RouterGroup<CuratorRequestContext>) {
        experiments.post { request, context in
            try access.requireAdmin(context.credential)
            let body = try await request.decode(as: ExperimentInput.self, context: context)
            let started = try await APIError.mappingOnlineErrors {
                try await engine.startExperiment(name: body.name, surface: body.surface, method: body.method, variants: body.variants)
            }
            return EditedResponse(status: .created, response: started)
        }
        experiments.get { _, context in
            try access.requireAdmin(context.credential)
            return ExperimentListing(experiments: try await engine.experimentList())
        }
        experiments.get(":name") { _, context in
            try access.requireAdmin(context.credential)
            let name = try context.pathParameter("name")
            return try await APIError.mappingOnlineErrors { try await engine.experimentStatus(named: name) }
        }
        experiments.post(":name/stop") { _, context in
            try access.requireAdmin(context.credential)
            let name = try context.pathParameter("name")
            return try await APIError.mappingOnlineErrors { try await engine.stopExperiment(named: name) }
        }
    }
}
