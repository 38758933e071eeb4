import CuratorCore
import CuratorEngine
import Explanations
import Foundation
import Hummingbird

/// A query string's parameters as browsers (`URLSearchParams`) and HTTP libraries write them
/// (`application/x-www-form-urlencoded`): `+` is a space, and a plus itself comes as `%2B`.
/// Hummingbird's `queryParameters` keeps `+`, so `category=Outdoor+%3E+Rain+Jacket` matched no
/// category. The first of a repeated name counts.
struct FormQuery: Sendable {
    private var values: [String: String] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? Self.decode(parts[1]) : "" }
        }
    }

    func get(_ name: String) -> String? { values[name] }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

extension CuratorRequestContext {
    /// A path parameter, percent-decoded as clients encode it (`encodeURIComponent`):
    /// `/v1/products/two%20words` names `two words`. Hummingbird hands parameters over as they
    /// appear in the path; text that is not valid percent-encoding is taken as it is.
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }
}

/// Parsing and bounds of the parameters a recommendation takes, shared by the query string
/// (`GET /v1/shoppers/{id}/recommendations`) and the JSON body (`POST /v1/recommendations`),
/// so both refuse the same values with the same messages.
enum QueryParameters {
    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
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

    /// A list of ids, at most `ServerConfiguration.maxListedIDs`: each one costs a lookup, so
    /// an unbounded list would let one request do unbounded work.
    static func idList(_ ids: [String], name: String) throws -> [String] {
        guard ids.count <= ServerConfiguration.maxListedIDs else {
            throw APIError.badRequest("'\(name)' holds at most \(ServerConfiguration.maxListedIDs.grouped) ids (got \(ids.count.grouped))", field: name)
        }
        return ids
    }

    static func commaSeparated(_ text: String?) -> [String]? {
        text.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// The recommendation options, from text values as a query string gives them.
    static func recommendationRequest(k: String?, lang: String?, category: String?, minPrice: String?, maxPrice: String?,
                                      exclude: [String]?, excludeIDs: [String]?, diversity: String? = nil, maxPerCategory: String? = nil,
                                      defaultDiversity: Float = 0) throws -> RecommendationRequest {
        var request = RecommendationRequest()
        (request.diversity, request.maxPerCategory) = try variety(diversity: diversity, maxPerCategory: maxPerCategory, defaultDiversity: defaultDiversity)
        request.k = try integer(k, name: "k", default: 10, range: 1...100)
        request.language = try language(lang)
        if let category, !category.isEmpty { request.category = category }
        request.minPrice = try price(minPrice, name: "min_price")
        request.maxPrice = try price(maxPrice, name: "max_price")
        if let exclude {
            do {
                request.exclude = try EventType.filter(exclude)
            } catch {
                throw APIError.badRequest("'exclude': \(error)", field: "exclude")
            }
        }
        if let excludeIDs { request.excludeIDs = Set(try idList(excludeIDs, name: "exclude_ids")) }
        return request
    }

    /// `diversity` (0 to 1, else the server's default) and `max_per_category` (1 to 100).
    static func variety(diversity: String?, maxPerCategory: String?, defaultDiversity: Float) throws -> (Float, Int?) {
        var value = defaultDiversity
        if let diversity, !diversity.isEmpty {
            guard let parsed = Float(diversity), parsed >= 0, parsed <= 1 else {
                throw APIError.badRequest("'diversity' must be a number from 0 to 1 (got '\(diversity.prefix(40))')", field: "diversity")
            }
            value = parsed
        }
        let cap = try maxPerCategory.flatMap { $0.isEmpty ? nil : $0 }.map { try integer($0, name: "max_per_category", default: 1, range: 1...100) }
        return (value, cap)
    }

    private static func price(_ text: String?, name: String) throws -> Double? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Double(text), value >= 0 else { throw APIError.badRequest("'\(name)' must be a non-negative number (got '\(text)')", field: name) }
        return value
    }
}
