import CuratorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// The online loop through the routes: ids and positions on every list, impressions and their
/// token scope, attribution by id and by window, the online report, experiments and their refusals.
final class OnlineLoopTests: XCTestCase {
    func testEveryListHasAnIdAndPositions() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            var ids = Set<String>()
            for uri in ["/v1/shoppers/S1/recommendations?k=3", "/v1/products/P1/similar?k=3"] {
                let (status, body) = try await client.send(.get, uri, bearer: TestShop.adminKey)
                XCTAssertEqual(status, .ok, body)
                let list = try object(body)
                ids.insert(try XCTUnwrap(list["recommendation_id"] as? String, body))
                XCTAssertTrue(list.keys.contains("experiment") && list["experiment"] is NSNull, body)
                let positions = (list["items"] as? [[String: Any]] ?? []).compactMap { $0["position"] as? Int }
                XCTAssertEqual(positions, Array(1...3), body)
            }
            let (_, anonymous) = try await client.send(.post, "/v1/recommendations", json: #"{"viewed": ["P1"], "k": 2}"#)
            ids.insert(try XCTUnwrap(try object(anonymous)["recommendation_id"] as? String, anonymous))
            let (_, search) = try await client.send(.get, "/v1/products?q=coffee&k=2")
            let page = try object(search)
            ids.insert(try XCTUnwrap(page["recommendation_id"] as? String, search))
            XCTAssertEqual((page["items"] as? [[String: Any]] ?? []).compactMap { $0["position"] as? Int }, [1, 2], search)
            XCTAssertEqual(ids.count, 4, "every list has its own id")
        }
    }

    func testImpressionsAreScopedToTheSessionsShopper() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let s1 = try await client.sessionToken(for: "S1")
            let s2 = try await client.sessionToken(for: "S2")
            let (_, body) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=3", bearer: s1)
            let id = try XCTUnwrap(try object(body)["recommendation_id"] as? String)
            let seen = #"{"recommendation_id": "\#(id)", "seen": [1, 2]}"#
            var (status, answer) = try await client.send(.post, "/v1/impressions", bearer: s1, json: seen)
            XCTAssertEqual(status, .ok, answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", bearer: s2, json: seen)
            XCTAssertEqual(status, .forbidden, answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", bearer: s1, json: #"{"recommendation_id": "AAAAAAAAAAAAAAAAAAAAAA", "seen": [1]}"#)
            XCTAssertEqual(status, .notFound, answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", bearer: s1, json: #"{"recommendation_id": "\#(id)", "seen": [4]}"#)
            XCTAssertEqual(status, .badRequest, answer)
            XCTAssertTrue(answer.contains(#""field":"seen""#), answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", bearer: s1, json: #"{"recommendation_id": "not an id", "seen": [1]}"#)
            XCTAssertEqual(status, .badRequest, answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", json: seen)
            XCTAssertEqual(status, .unauthorized, answer)
        }
    }

    func testEventsAreAttributedByIdAndByWindowAndReported() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let (_, body) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=3", bearer: TestShop.adminKey)
            let list = try object(body)
            let id = try XCTUnwrap(list["recommendation_id"] as? String)
            let products = (list["items"] as? [[String: Any]] ?? []).compactMap { $0["product_id"] as? String }
            XCTAssertEqual(products.count, 3)
            // A click naming the list, then a purchase of the same card without naming it (the window),
            // then an event for a product the list did not show (credited to nothing).
            let events = """
                [{"user_id": "S1", "product_id": "\(products[0])", "event": "click", "recommendation_id": "\(id)"},
                 {"user_id": "S1", "product_id": "\(products[0])", "event": "purchase", "quantity": 2, "price": "10.50"},
                 {"user_id": "S1", "product_id": "\(products[1])", "event": "click", "recommendation_id": "\(id)"},
                 {"user_id": "S1", "product_id": "P1", "event": "cart"}]
                """
            var (status, answer) = try await client.send(.post, "/v1/events", bearer: TestShop.adminKey, json: events)
            XCTAssertEqual(status, .ok, answer)
            (status, answer) = try await client.send(.post, "/v1/impressions", bearer: TestShop.adminKey, json: #"{"recommendation_id": "\#(id)", "seen": [1, 2, 3]}"#)
            XCTAssertEqual(status, .ok, answer)
            (status, answer) = try await client.send(.get, "/v1/metrics/online?group_by=surface", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok, answer)
            let rows = try XCTUnwrap(try object(answer)["rows"] as? [[String: Any]], answer)
            let shopper = try XCTUnwrap(rows.first { $0["group"] as? String == "shopper" }, answer)
            XCTAssertEqual(shopper["lists"] as? Int, 1, answer)
            XCTAssertEqual(shopper["impressions"] as? Int, 3, answer)
            XCTAssertEqual(shopper["seen"] as? Int, 3, answer)
            XCTAssertEqual(shopper["clicks"] as? Int, 2, answer)
            XCTAssertEqual(shopper["purchases"] as? Int, 1, answer)
            XCTAssertEqual(shopper["revenue"] as? Double ?? 0, 21, accuracy: 1e-9, answer)
            let ctr = try XCTUnwrap(shopper["ctr"] as? [String: Double], answer)
            XCTAssertEqual(ctr["value"] ?? 0, 2.0 / 3, accuracy: 1e-9)
            XCTAssertLessThan(ctr["low"] ?? 1, 2.0 / 3)
            XCTAssertGreaterThan(ctr["high"] ?? 0, 2.0 / 3)
            (status, answer) = try await client.send(.get, "/v1/metrics/online?group_by=colour", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .badRequest, answer)
            (status, answer) = try await client.send(.post, "/v1/events", bearer: TestShop.adminKey,
                                                     json: #"{"user_id": "S1", "product_id": "P1", "event": "click", "recommendation_id": "x"}"#)
            XCTAssertEqual(status, .badRequest, answer)
            XCTAssertTrue(answer.contains(#""field":"recommendation_id""#), answer)
        }
    }

    func testExperimentsAssignShoppersStickilyAndRefuseBadInput() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let refusals: [(String, String)] = [
                (#"{"name": "x", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "sequential"}]}"#, "variants[1].model"),
                (#"{"name": "x", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "semantic", "weight": 0}]}"#, "variants[1].weight"),
                (#"{"name": "x", "variants": [{"name": "A", "model": "popular"}, {"name": "A", "model": "semantic"}]}"#, "variants[1].name"),
                (#"{"name": "x", "variants": [{"name": "A", "model": "popular"}]}"#, "variants"),
                (#"{"name": "x", "method": "interleave", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "semantic"}, {"name": "C", "model": "semantic"}]}"#, "variants"),
                (#"{"name": "x", "surface": "search", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "semantic"}]}"#, "surface"),
                (#"{"name": "no spaces", "variants": [{"name": "A", "model": "popular"}, {"name": "B", "model": "semantic"}]}"#, "name"),
                (#"{"name": "x", "method": "bandit", "variants": []}"#, "method"),
            ]
            for (body, field) in refusals {
                let (status, answer) = try await client.send(.post, "/v1/experiments", bearer: TestShop.adminKey, json: body)
                XCTAssertEqual(status, .badRequest, "\(body): \(answer)")
                XCTAssertTrue(answer.contains(#""field":"\#(field)""#), "\(body): \(answer)")
            }
            let start = #"{"name": "pop-vs-sem", "variants": [{"name": "control", "model": "popular"}, {"name": "semantic", "model": "semantic"}]}"#
            var (status, answer) = try await client.send(.post, "/v1/experiments", bearer: TestShop.adminKey, json: start)
            XCTAssertEqual(status, .created, answer)
            (status, answer) = try await client.send(.post, "/v1/experiments", bearer: TestShop.adminKey,
                                                     json: start.replacingOccurrences(of: "pop-vs-sem", with: "another"))
            XCTAssertEqual(status, .conflict, answer)
            var variants: [String: String] = [:]
            for shopper in ["S1", "S2"] {
                for _ in 0..<3 {
                    let (_, body) = try await client.send(.get, "/v1/shoppers/\(shopper)/recommendations?k=2", bearer: TestShop.adminKey)
                    let list = try object(body)
                    XCTAssertEqual(list["experiment"] as? String, "pop-vs-sem", body)
                    let variant = try XCTUnwrap(list["variant"] as? String, body)
                    XCTAssertEqual(variants[shopper] ?? variant, variant, "a shopper keeps their variant")
                    variants[shopper] = variant
                    XCTAssertEqual(list["model"] as? String, variant == "control" ? "popular" : "semantic", body)
                }
            }
            (status, answer) = try await client.send(.get, "/v1/experiments/pop-vs-sem", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok, answer)
            let figures = try XCTUnwrap(try object(answer)["variants"] as? [[String: Any]], answer)
            XCTAssertEqual(figures.reduce(0) { $0 + ($1["lists"] as? Int ?? 0) }, 6, answer)
            XCTAssertEqual(figures.reduce(0) { $0 + ($1["shoppers"] as? Int ?? 0) }, 2, answer)
            (status, answer) = try await client.send(.post, "/v1/experiments/pop-vs-sem/stop", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok, answer)
            (status, answer) = try await client.send(.post, "/v1/experiments/pop-vs-sem/stop", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .conflict, answer)
            (status, answer) = try await client.send(.get, "/v1/experiments/none-such", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .notFound, answer)
            let (_, after) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=2", bearer: TestShop.adminKey)
            XCTAssertTrue(try object(after)["experiment"] is NSNull, "a stopped experiment no longer applies: \(after)")
        }
    }

    func testAVariantCanServeItemKNNBesideTheEnginesOwnModels() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let start = #"{"name": "knn", "method": "interleave", "variants": [{"name": "pop", "model": "popular"}, {"name": "knn", "model": "itemknn"}]}"#
            let (status, answer) = try await client.send(.post, "/v1/experiments", bearer: TestShop.adminKey, json: start)
            XCTAssertEqual(status, .created, answer)
            let (_, body) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=4", bearer: TestShop.adminKey)
            let list = try object(body)
            XCTAssertEqual(list["model"] as? String, "popular+itemknn", body)
            XCTAssertEqual((list["items"] as? [[String: Any]] ?? []).count, 4, body)
        }
    }

    func testInterleavingMergesBothListsAndCreditsClicks() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let start = #"{"name": "il", "method": "interleave", "variants": [{"name": "pop", "model": "popular"}, {"name": "sem", "model": "semantic"}]}"#
            var (status, answer) = try await client.send(.post, "/v1/experiments", bearer: TestShop.adminKey, json: start)
            XCTAssertEqual(status, .created, answer)
            let (_, body) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=4", bearer: TestShop.adminKey)
            let list = try object(body)
            XCTAssertEqual(list["variant"] as? String, "interleaved", body)
            let items = (list["items"] as? [[String: Any]] ?? []).compactMap { $0["product_id"] as? String }
            XCTAssertEqual(items.count, 4, body)
            XCTAssertEqual(Set(items).count, 4, "no product twice: \(items)")
            let id = try XCTUnwrap(list["recommendation_id"] as? String)
            (status, answer) = try await client.send(.post, "/v1/events", bearer: TestShop.adminKey,
                                                     json: #"{"user_id": "S1", "product_id": "\#(items[0])", "event": "click", "recommendation_id": "\#(id)"}"#)
            XCTAssertEqual(status, .ok, answer)
            (status, answer) = try await client.send(.get, "/v1/experiments/il", bearer: TestShop.adminKey)
            let interleaving = try XCTUnwrap(try object(answer)["interleaving"] as? [String: Any], answer)
            XCTAssertEqual((interleaving["wins"] as? Int ?? 0) + (interleaving["losses"] as? Int ?? 0), 1, answer)
            XCTAssertEqual((interleaving["clicks_first"] as? Int ?? 0) + (interleaving["clicks_second"] as? Int ?? 0), 1, answer)
        }
    }
}

/// A JSON object from a response body.
private func object(_ body: String) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], body)
}
