import CuratorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Personalisation off and erasure through the routes: who may do them, what a shopper gets with
/// personalisation off (the list of a new shopper, said so), and what is left after an erasure.
final class ShopperPrivacyTests: XCTestCase {
    func testPersonalisationOffUsesNoHistoryAndSaysSo() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let s1 = try await client.sessionToken(for: "S1")
            let s2 = try await client.sessionToken(for: "S2")
            let (_, personal) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=4&category=Outdoor", bearer: s1)
            XCTAssertFalse(try items(personal).contains { ($0["evidence"] as? [String: Any])?["source"] as? String == "personalisation_off" }, personal)

            var (status, body) = try await client.send(.put, "/v1/shoppers/S1/preferences", bearer: s2, json: #"{"personalised": false}"#)
            XCTAssertEqual(status, .forbidden, body)
            (status, body) = try await client.send(.put, "/v1/shoppers/S1/preferences", bearer: s1, json: #"{"personalised": "no"}"#)
            XCTAssertEqual(status, .badRequest, body)
            (status, body) = try await client.send(.put, "/v1/shoppers/S1/preferences", bearer: s1, json: #"{"personalised": false}"#)
            XCTAssertEqual(status, .ok, body)
            (status, body) = try await client.send(.get, "/v1/shoppers/S1/preferences", bearer: s1)
            XCTAssertTrue(body.contains(#""personalised":false"#), body)

            for lang in ["en", "zh"] {
                let (_, off) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=4&category=Outdoor&lang=\(lang)", bearer: s1)
                let (_, newcomer) = try await client.send(.get, "/v1/shoppers/NEW/recommendations?k=4&category=Outdoor&lang=\(lang)", bearer: TestShop.adminKey)
                let offItems = try items(off)
                XCTAssertEqual(offItems.map { $0["product_id"] as? String }, try items(newcomer).map { $0["product_id"] as? String },
                               "the list of a shopper without history in that category")
                XCTAssertTrue(offItems.contains { $0["product_id"] as? String == "P2" }, "S1's own purchase is not left out: their history is not read")
                for item in offItems {
                    XCTAssertEqual((item["evidence"] as? [String: Any])?["source"] as? String, "personalisation_off")
                    let reason = item["reason"] as? String ?? ""
                    XCTAssertTrue(reason.contains(lang == "en" ? "personalised recommendations are off" : "已关闭个性化推荐"), reason)
                }
            }
            (status, body) = try await client.send(.put, "/v1/shoppers/S1/preferences", bearer: s1, json: #"{"personalised": true}"#)
            XCTAssertEqual(status, .ok, body)
            let (_, back) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=4&category=Outdoor", bearer: s1)
            XCTAssertEqual(try items(back).map { $0["product_id"] as? String }, try items(personal).map { $0["product_id"] as? String }, "personal again")
        }
    }

    func testErasureRemovesTheShopperAndTheirPopularity() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        let before = shop.engine.popularity(of: "P2") ?? 0
        XCTAssertGreaterThan(before, 0, "S1 bought P2")
        try await shop.test { client in
            let s1 = try await client.sessionToken(for: "S1")
            let s2 = try await client.sessionToken(for: "S2")
            var (status, body) = try await client.send(.delete, "/v1/shoppers/S1", bearer: TestShop.eventsKey)
            XCTAssertEqual(status, .forbidden, body)
            (status, body) = try await client.send(.delete, "/v1/shoppers/S1", bearer: s2)
            XCTAssertEqual(status, .forbidden, body)
            (status, body) = try await client.send(.delete, "/v1/shoppers/S1", bearer: s1)
            XCTAssertEqual(status, .ok, body)
            (status, body) = try await client.send(.get, "/v1/shoppers/S1", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .notFound, body)
            (status, body) = try await client.send(.delete, "/v1/shoppers/S1", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .notFound, body)
            (status, body) = try await client.send(.delete, "/v1/shoppers/S2", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok, body)
        }
        XCTAssertEqual(shop.engine.popularity(of: "P2") ?? 0, 0, "only S1 had bought P2")
    }
}

/// The items of a list response.
private func items(_ body: String) throws -> [[String: Any]] {
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], body)
    return object["items"] as? [[String: Any]] ?? []
}
