import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// `FieldReader` and the request decoder: every refusal is a 400 that names the field by its
/// full path, in the API's error shape, and nothing of a refused batch is stored.
final class RequestBodyTests: XCTestCase {
    struct Case {
        var method: HTTPRequest.Method
        var uri: String
        var body: String
        var field: String?
        var message: String
    }

    static let cases: [Case] = [
        Case(method: .post, uri: "/v1/events", body: "", field: nil, message: "the request body is empty; send JSON"),
        Case(method: .post, uri: "/v1/events", body: "{", field: nil, message: "the request body is not valid JSON"),
        Case(method: .post, uri: "/v1/events", body: #"{"product_id": "P1", "event": "view"}"#, field: "user_id", message: "missing field 'user_id'"),
        Case(method: .post, uri: "/v1/events", body: #"{"user_id": "  ", "product_id": "P1", "event": "view"}"#, field: "user_id",
             message: "field 'user_id' is empty"),
        Case(method: .post, uri: "/v1/events", body: #"[{"user_id": "S1", "product_id": "P1", "event": "view"}, {"user_id": "S1", "product_id": "P1", "event": "teleport"}]"#,
             field: "[1].event", message: "field '[1].event': unknown event type 'teleport' (expected view, click, cart, favorite or purchase)"),
        Case(method: .post, uri: "/v1/events", body: #"{"events": [{"user_id": "S1", "product_id": "P1", "event": "view", "timestamp": "yesterday"}]}"#,
             field: "events[0].timestamp", message: "field 'events[0].timestamp': 'yesterday' is not an ISO-8601 time like 2024-01-18T10:01:00Z"),
        Case(method: .post, uri: "/v1/events", body: #"{"user_id": "S1", "product_id": "P1", "event": "purchase", "quantity": 1.5}"#,
             field: "quantity", message: "field 'quantity'"),
        Case(method: .post, uri: "/v1/events", body: #"{"user_id": "S1", "product_id": "P1", "event": "purchase", "price": "£3"}"#,
             field: "price", message: "field 'price'"),
        Case(method: .put, uri: "/v1/products/P9", body: #"{"title": "Tent", "price": "-1"}"#, field: "price", message: "field 'price'"),
        Case(method: .put, uri: "/v1/products/P9", body: #"{"title": "Tent", "in_stock": "maybe"}"#, field: "in_stock", message: "field 'in_stock'"),
        Case(method: .put, uri: "/v1/products/P9", body: #"{"product_id": "P10", "title": "Tent"}"#, field: "product_id",
             message: "field 'product_id' ('P10') differs from the id in the path ('P9')"),
        Case(method: .post, uri: "/v1/products", body: #"[{"title": "Tent"}]"#, field: "[0].product_id", message: "missing field '[0].product_id'"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"k": 3}"#, field: "viewed", message: "field 'viewed' must be an array of product ids"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": {"id": "P1"}}"#, field: "viewed", message: "field 'viewed' must be an array of strings"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1", true]}"#, field: "viewed[1]", message: "viewed[1]"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1"], "k": 0}"#, field: "k", message: "'k'"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1"], "lang": "fr"}"#, field: "lang", message: "'lang'"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1"], "diversity": 1.5}"#, field: "diversity", message: "'diversity'"),
        Case(method: .post, uri: "/v1/recommendations", body: #"{"viewed": ["P1"], "max_per_category": 0}"#, field: "max_per_category",
             message: "'max_per_category'"),
        Case(method: .put, uri: "/v1/shoppers/S1/preferences", body: #"{"personalised": "off"}"#, field: "personalised", message: "field 'personalised'"),
        Case(method: .post, uri: "/v1/impressions", body: #"{"recommendation_id": "AAAAAAAAAAAAAAAAAAAAAA", "seen": [1.5]}"#, field: "seen[0]",
             message: "field 'seen[0]' must be a whole number"),
        Case(method: .post, uri: "/v1/experiments", body: #"{"name": "x", "variants": [{"name": "A", "model": "popular", "weight": "heavy"}]}"#,
             field: "variants[0].weight", message: "field 'variants[0].weight' must be a number"),
        Case(method: .post, uri: "/v1/sessions", body: #"{"shopper": " "}"#, field: "shopper", message: "field 'shopper' must be a shopper id of 1 to 200 characters"),
    ]

    func testEveryRefusalNamesItsField() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            for test in Self.cases {
                let (status, body) = try await client.send(test.method, test.uri, bearer: TestShop.adminKey, json: test.body)
                let label = "\(test.method) \(test.uri) \(test.body)"
                XCTAssertEqual(status, .badRequest, "\(label): \(body)")
                let error = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? [String: Any], body)
                XCTAssertEqual(error["field"] as? String, test.field, label)
                XCTAssertTrue((error["message"] as? String ?? "").contains(test.message), "\(label): \(error["message"] ?? "")")
            }
            // Nothing of the refused batches was stored: S1 still has its two events.
            let (_, shopper) = try await client.send(.get, "/v1/shoppers/S1", bearer: TestShop.adminKey)
            XCTAssertTrue(shopper.contains(#""view":1"#) && shopper.contains(#""purchase":1"#), shopper)
        }
    }
}
