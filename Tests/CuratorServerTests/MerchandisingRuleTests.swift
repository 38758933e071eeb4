import CuratorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Merchandising rules through `/v1/rules`: each kind on the lists it reaches, surfaces, time
/// windows, reasons that stay true, and bad rules refused naming the field.
final class MerchandisingRuleTests: XCTestCase {
    func testEachKindOfRuleOnTheListsItReaches() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let s1 = try await client.sessionToken(for: "S1")
            let listOfS1 = { (query: String) in try await client.send(.get, "/v1/shoppers/S1/recommendations?k=5&diversity=0\(query)", bearer: s1) }
            let (_, before) = try await listOfS1("")
            XCTAssertNotEqual(try ids(before).first, "P6", before)
            XCTAssertTrue(try items(before).allSatisfy { $0["rule"] is NSNull }, "no rule, and the field is there: \(before)")

            // Pin: the knife first on every list; nothing in S1's outdoor history resembles it, so it is "Featured".
            var (status, body) = try await client.send(.put, "/v1/rules/knife-first", bearer: TestShop.adminKey,
                                                       json: #"{"kind": "pin", "product_id": "P6", "position": 1}"#)
            XCTAssertEqual(status, .created, body)
            XCTAssertTrue(body.contains(#""in_force":true"#) && body.contains(#""matching_products":1"#), body)
            for lang in ["en", "zh"] {
                let (_, pinned) = try await listOfS1("&lang=\(lang)")
                let first = try XCTUnwrap(try items(pinned).first)
                XCTAssertEqual(first["product_id"] as? String, "P6", pinned)
                XCTAssertEqual(first["rule"] as? String, "knife-first")
                XCTAssertEqual((first["evidence"] as? [String: Any])?["source"] as? String, "featured")
                XCTAssertTrue((first["reason"] as? String ?? "").hasPrefix(lang == "en" ? "Featured" : "精选推荐"), pinned)
                XCTAssertEqual(try items(pinned).count, try items(before).count, "a pin takes a place; the list keeps its length")
            }
            (status, body) = try await client.send(.post, "/v1/recommendations", json: #"{"viewed": ["P4"], "k": 3}"#)
            XCTAssertEqual(try ids(body).first, "P6", "every surface: \(body)")
            (status, body) = try await client.send(.get, "/v1/products/P1/similar?k=3")
            XCTAssertEqual(try ids(body).first, "P6", body)
            // Replaced: the same name, now only on the anonymous surface.
            (status, body) = try await client.send(.put, "/v1/rules/knife-first", bearer: TestShop.adminKey,
                                                   json: #"{"kind": "pin", "product_id": "P6", "position": 2, "surface": "anonymous"}"#)
            XCTAssertEqual(status, .ok, body)
            (_, body) = try await listOfS1("")
            XCTAssertEqual(try ids(body), try ids(before), "not on the shopper surface")
            (_, body) = try await client.send(.post, "/v1/recommendations", json: #"{"viewed": ["P4"], "k": 3}"#)
            XCTAssertEqual(try ids(body)[1], "P6", body)
            (status, body) = try await client.send(.delete, "/v1/rules/knife-first", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok, body)
            (status, body) = try await client.send(.delete, "/v1/rules/knife-first", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .notFound, body)

            // Block a brand: gone from every list, search included, and the lists keep their length.
            (status, body) = try await client.send(.put, "/v1/rules/no-peak", bearer: TestShop.adminKey, json: #"{"kind": "block", "brand": "peak"}"#)
            XCTAssertEqual(status, .created, body)
            XCTAssertTrue(body.contains(#""matching_products":2"#), "P1 and P2, case aside: \(body)")
            (_, body) = try await listOfS1("&k=4")
            XCTAssertEqual(try ids(body).count, 4, body)
            XCTAssertFalse(try ids(body).contains { $0 == "P1" || $0 == "P2" }, body)
            (_, body) = try await client.send(.get, "/v1/products/P3/similar?k=5")
            XCTAssertFalse(try ids(body).contains { $0 == "P1" || $0 == "P2" }, body)
            (_, body) = try await client.send(.get, "/v1/products?q=trail%20boots&k=5")
            XCTAssertFalse(try ids(body).contains { $0 == "P1" || $0 == "P2" }, "a blocked product is not found by search either: \(body)")
            (status, _) = try await client.send(.delete, "/v1/rules/no-peak", bearer: TestShop.adminKey)
            XCTAssertEqual(status, .ok)

            // Boost and bury: the espresso machine up for an outdoor shopper, outdoor products down.
            (status, body) = try await client.send(.put, "/v1/rules/espresso-up", bearer: TestShop.adminKey,
                                                   json: #"{"kind": "boost", "product_id": "P4", "weight": 1}"#)
            XCTAssertEqual(status, .created, body)
            (_, body) = try await listOfS1("")
            let boosted = try items(body)
            XCTAssertEqual(boosted.first?["product_id"] as? String, "P4", body)
            XCTAssertEqual(boosted.first?["rule"] as? String, "espresso-up")
            (status, _) = try await client.send(.delete, "/v1/rules/espresso-up", bearer: TestShop.adminKey)
            (status, body) = try await client.send(.put, "/v1/rules/outdoor-down", bearer: TestShop.adminKey,
                                                   json: #"{"kind": "bury", "category": "outdoor", "weight": 1}"#)
            XCTAssertEqual(status, .created, body)
            (_, body) = try await listOfS1("&k=6&exclude=")
            let buried = try items(body)
            let categories = buried.map { item in TestShop.products.first { $0.id == item["product_id"] as? String }?.category ?? "" }
            XCTAssertEqual(categories.firstIndex { $0.hasPrefix("Outdoor") }.map { $0 >= 3 }, true, "the three kitchen products first: \(body)")
            XCTAssertTrue(buried.filter { ($0["product_id"] as? String).map { ["P1", "P2", "P3"].contains($0) } == true }
                .allSatisfy { $0["rule"] as? String == "outdoor-down" }, body)
        }
    }

    func testTimeWindowsApplyOnlyWhileOpen() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let now = Timestamps.nowMillis()
            let iso = { (offset: Int64) in Timestamps.format(millis: now + offset) }
            let windows = [
                ("later", iso(3_600_000), iso(7_200_000), false),
                ("over", iso(-7_200_000), iso(-3_600_000), false),
                ("open", iso(-3_600_000), iso(3_600_000), true),
            ]
            for (name, start, end, open) in windows {
                var (status, body) = try await client.send(.put, "/v1/rules/\(name)", bearer: TestShop.adminKey,
                                                           json: #"{"kind": "pin", "product_id": "P6", "position": 1, "starts_at": "\#(start)", "ends_at": "\#(end)"}"#)
                XCTAssertEqual(status, .created, body)
                XCTAssertTrue(body.contains(#""in_force":\#(open)"#), body)
                (_, body) = try await client.send(.get, "/v1/shoppers/S1/recommendations?k=3", bearer: TestShop.adminKey)
                XCTAssertEqual(try ids(body).first == "P6", open, "\(name): \(body)")
                (status, _) = try await client.send(.delete, "/v1/rules/\(name)", bearer: TestShop.adminKey)
                XCTAssertEqual(status, .ok)
            }
            // A window given in China's time zone is kept as the same instant.
            let (status, body) = try await client.send(.put, "/v1/rules/double-11", bearer: TestShop.adminKey,
                                                       json: #"{"kind": "boost", "category": "Kitchen", "weight": 0.5, "starts_at": "2026-11-11T00:00:00+08:00", "ends_at": "2026-11-12T00:00:00+08:00"}"#)
            XCTAssertEqual(status, .created, body)
            XCTAssertTrue(body.contains(#""starts_at":"2026-11-10T16:00:00Z""#), body)
            let (_, listing) = try await client.send(.get, "/v1/rules", bearer: TestShop.adminKey)
            XCTAssertTrue(listing.contains("double-11"), listing)
        }
    }

    func testBadRulesAreRefusedNamingTheField() async throws {
        let shop = try await TestShop()
        defer { shop.remove() }
        try await shop.test { client in
            let cases: [(String, String)] = [
                (#"{"kind": "promote", "product_id": "P1"}"#, "kind"),
                (#"{"product_id": "P1"}"#, "kind"),
                (#"{"kind": "pin", "product_id": "P1", "position": 101}"#, "position"),
                (#"{"kind": "pin", "product_id": "P1", "position": 0}"#, "position"),
                (#"{"kind": "pin", "product_id": "P1"}"#, "position"),
                (#"{"kind": "pin", "brand": "Peak", "position": 1}"#, "product_id"),
                (#"{"kind": "boost", "brand": "Peak"}"#, "weight"),
                (#"{"kind": "boost", "brand": "Peak", "weight": 2}"#, "weight"),
                (#"{"kind": "bury", "brand": "Peak", "weight": "a lot"}"#, "weight"),
                (#"{"kind": "block", "brand": "Peak", "category": "Outdoor"}"#, "product_id"),
                (#"{"kind": "block"}"#, "product_id"),
                (#"{"kind": "block", "brand": "  "}"#, "brand"),
                (#"{"kind": "block", "brand": "Peak", "surface": "homepage"}"#, "surface"),
                (#"{"kind": "block", "brand": "Peak", "starts_at": "tomorrow"}"#, "starts_at"),
                (#"{"kind": "block", "brand": "Peak", "starts_at": "2026-06-18T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"}"#, "ends_at"),
                (#"{"kind": "block", "new_for_days": 7}"#, "new_for_days"),
                (#"{"kind": "boost", "new_for_days": 0, "weight": 0.2}"#, "new_for_days"),
                (#"{"name": "other", "kind": "block", "brand": "Peak"}"#, "name"),
            ]
            for (json, field) in cases {
                let (status, body) = try await client.send(.put, "/v1/rules/r1", bearer: TestShop.adminKey, json: json)
                XCTAssertEqual(status, .badRequest, "\(json): \(body)")
                XCTAssertTrue(body.contains(#""field":"\#(field)""#), "\(json) names \(field): \(body)")
            }
            var (status, body) = try await client.send(.put, "/v1/rules/bad%20name", bearer: TestShop.adminKey, json: #"{"kind": "block", "brand": "Peak"}"#)
            XCTAssertEqual(status, .badRequest, body)
            (status, body) = try await client.send(.put, "/v1/rules/r1", bearer: TestShop.eventsKey, json: #"{"kind": "block", "brand": "Peak"}"#)
            XCTAssertEqual(status, .forbidden, body)
            (status, body) = try await client.send(.get, "/v1/rules", bearer: TestShop.adminKey)
            XCTAssertEqual(body, #"{"rules":[]}"#, "nothing was stored")
        }
    }
}

private func items(_ body: String) throws -> [[String: Any]] {
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], body)
    return object["items"] as? [[String: Any]] ?? []
}

private func ids(_ body: String) throws -> [String] { try items(body).compactMap { $0["product_id"] as? String } }
