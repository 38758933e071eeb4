import CuratorCore
import Foundation
import Hummingbird

/// An error answer: `{"error": {"status": 400, "message": "...", "field": "k", "items": [...]}}`.
/// Every refusal of the API has this shape, so a client needs one error path.
struct APIError: Error, HTTPResponseError, Sendable {
    /// One offending item of a batch (an event naming an unknown product).
    struct Item: Codable, Sendable, Equatable {
        var index: Int
        var field: String
        var reason: String
        var productID: String

        enum CodingKeys: String, CodingKey {
            case index, field, reason, productID = "product_id"
        }
    }

    var status: HTTPResponse.Status
    var message: String
    var field: String?
    var items: [Item] = []
    /// For 405: the methods the path is served with, sent as `Allow`.
    var allowedMethods: [HTTPRequest.Method] = []
    /// For 503: when to try again, sent as `Retry-After`.
    var retryAfterSeconds: Int?

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, field: field)
    }

    static func unauthorized(_ message: String) -> APIError { APIError(status: .unauthorized, message: message) }
    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }

    var headers: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if !allowedMethods.isEmpty { headers[.allow] = allowedMethods.map(\.rawValue).joined(separator: ", ") }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return headers
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var message: String
            var field: String?
            var items: [Item]?
        }
        var error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(status: Int(status.code), message: message, field: field, items: items.isEmpty ? nil : items))
        let data = try CuratorJSON.encoder().encode(body)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
