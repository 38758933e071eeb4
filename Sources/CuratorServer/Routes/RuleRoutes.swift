import CuratorCore
import CuratorEngine
import Foundation
import Hummingbird

/// `/v1/rules` (admin): the shop's merchandising rules over every list (pin, boost, bury,
/// block), each by name, optionally on one surface and within a time window.
struct RuleController: Sendable {
    let engine: RecommendationEngine
    let access: AccessPolicy

    /// A rule with what it does now.
    struct RuleJSON: ResponseEncodable, Sendable {
        var status: RecommendationEngine.RuleStatus

        enum CodingKeys: String, CodingKey {
            case inForce = "in_force", matchingProducts = "matching_products"
        }

        func encode(to encoder: any Encoder) throws {
            try status.rule.encode(to: encoder)
            var fields = encoder.container(keyedBy: CodingKeys.self)
            try fields.encode(status.inForce, forKey: .inForce)
            try fields.encode(status.matchingProducts, forKey: .matchingProducts)
        }
    }

    struct RuleListing: ResponseEncodable, Sendable {
        var rules: [RuleJSON]
    }

    struct Deleted: ResponseEncodable, Sendable {
        var deleted: String
    }

    /// The body of a PUT: a rule whose name is the address's.
    struct RuleInput: Decodable, Sendable {
        var rule: MerchandisingRule

        init(from decoder: any Decoder) throws {
            do {
                rule = try MerchandisingRule(from: decoder)
            } catch let error as RuleError {
                throw APIError.badRequest(error.description, field: error.field)
            }
        }
    }

    func addRoutes(to rules: RouterGroup<CuratorRequestContext>) {
        rules.get { _, context in
            try access.requireAdmin(context.credential)
            return RuleListing(rules: try await engine.merchandisingRules().map(RuleJSON.init))
        }
        rules.get(":name") { _, context in
            try access.requireAdmin(context.credential)
            let name = try context.pathParameter("name")
            guard let status = try await engine.merchandisingRule(named: name) else { throw APIError.notFound("no rule named '\(name)'") }
            return RuleJSON(status: status)
        }
        rules.put(":name") { request, context in
            try access.requireAdmin(context.credential)
            let name = try context.pathParameter("name")
            var rule = try await request.decode(as: RuleInput.self, context: context).rule
            if !rule.name.isEmpty && rule.name != name {
                throw APIError.badRequest("field 'name' ('\(rule.name)') differs from the name in the path ('\(name)')", field: "name")
            }
            rule.name = name
            let (status, created) = try await Self.mappingRuleErrors { try await engine.putMerchandisingRule(rule) }
            return EditedResponse(status: created ? .created : .ok, response: RuleJSON(status: status))
        }
        rules.delete(":name") { _, context in
            try access.requireAdmin(context.credential)
            let name = try context.pathParameter("name")
            guard try await engine.deleteMerchandisingRule(named: name) else { throw APIError.notFound("no rule named '\(name)'") }
            return Deleted(deleted: name)
        }
    }

    static func mappingRuleErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RuleError {
            throw APIError.badRequest(error.description, field: error.field)
        }
    }
}
