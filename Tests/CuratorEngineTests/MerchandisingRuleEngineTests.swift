import CuratorCore
import CuratorEngine
import Foundation
import SQLiteStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// Merchandising rules on both stores: stored, replaced and deleted; carried by a store copy; on
/// PostgreSQL followed by another replica from the change log; and rules over new products, which
/// read when each product was first stored.
final class MerchandisingRuleEngineTests: XCTestCase {
    private func engine(on store: any CuratorStoring) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
    }

    private static let products = [
        Product(id: "P1", title: "Trail boots", brand: "Peak", category: "Outdoor > Boots"),
        Product(id: "P2", title: "Hiking socks", brand: "Peak", category: "Outdoor > Socks"),
        Product(id: "P3", title: "Camping stove", brand: "Ember", category: "Outdoor > Camping"),
        Product(id: "P4", title: "Espresso machine", brand: "Crema", category: "Kitchen > Coffee"),
        Product(id: "P5", title: "Coffee grinder", brand: "Crema", category: "Kitchen > Coffee", inStock: false),
    ]

    private func rule(_ json: String, name: String) throws -> MerchandisingRule {
        var rule = try JSONDecoder().decode(MerchandisingRule.self, from: Data(json.utf8))
        rule.name = name
        return rule
    }

    private func anonymousList(_ engine: RecommendationEngine, k: Int = 4) -> [String] {
        engine.serveRecommendations(history: [], sessionShopper: nil, request: RecommendationRequest(k: k)).items.map(\.productID)
    }

    func testRulesAreStoredCopiedAndFollowedByEveryReplica() async throws {
        try await eachStore(secret: .store) { test in
            _ = try await test.store.upsertProducts(Self.products)
            let a = try await engine(on: test.store)
            _ = try await a.record((1...4).map { Event(shopperID: "S\($0)", productID: "P\($0)", type: .purchase, timestampMillis: Int64($0) * 1_000) })
            let other = try await test.reopen(.store)
            let b = try await engine(on: other)
            let follower = StoreFollower(engine: b, modelSaved: {})
            _ = try await follower.catchUp()
            XCTAssertFalse(anonymousList(a).contains("P5"), "\(test.backend): out of stock is never recommended")

            let (status, created) = try await a.putMerchandisingRule(try rule(#"{"kind": "block", "brand": "PEAK"}"#, name: "no-peak"))
            XCTAssertTrue(created)
            XCTAssertEqual(status.matchingProducts, 2)
            let (_, createdAgain) = try await a.putMerchandisingRule(try rule(#"{"kind": "block", "brand": "peak"}"#, name: "no-peak"))
            XCTAssertFalse(createdAgain, "\(test.backend): replaced")
            XCTAssertFalse(anonymousList(a).contains { $0 == "P1" || $0 == "P2" }, "\(test.backend): \(anonymousList(a))")
            if test.backend == .postgres {
                XCTAssertTrue(anonymousList(b).contains("P1"), "B has not followed yet")
                _ = try await follower.catchUp()
            } else {
                try await b.refreshRules()  // a SQLite server reads the rules every second
            }
            XCTAssertEqual(Set(anonymousList(b, k: 2)), ["P4", "P3"], "\(test.backend): the second replica applies the rule")

            // Pins travel the same way; a pin on an out-of-stock product shows nothing.
            _ = try await a.putMerchandisingRule(try rule(#"{"kind": "pin", "product_id": "P5", "position": 1}"#, name: "grinder"))
            _ = try await a.putMerchandisingRule(try rule(#"{"kind": "pin", "product_id": "P3", "position": 2}"#, name: "stove"))
            XCTAssertEqual(anonymousList(a, k: 3), ["P4", "P3"], "\(test.backend)")

            // A copy of the store carries the rules.
            let snapshot = try await test.store.snapshot()
            XCTAssertEqual(snapshot.merchandisingRules.map(\.name), ["grinder", "no-peak", "stove"])
            XCTAssertEqual(snapshot.products.filter { $0.addedAt == nil }.count, 0, "every product has the time it was first stored")

            let deleted = try await a.deleteMerchandisingRule(named: "no-peak")
            XCTAssertTrue(deleted)
            let deletedAgain = try await a.deleteMerchandisingRule(named: "no-peak")
            XCTAssertFalse(deletedAgain)
            if test.backend == .postgres { _ = try await follower.catchUp() } else { try await b.refreshRules() }
            XCTAssertTrue(anonymousList(b).contains("P1"), "\(test.backend): unblocked on the second replica")
            await other.close()
        }
    }

    func testNewProductsAreBoostedForTheirFirstDays() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A shop whose products were first stored a month ago, but one stored yesterday (through a store copy).
        let original: any CuratorStoring = try SQLiteStore(path: folder.appendingPathComponent("a.sqlite").path, secret: .store)
        _ = try await original.upsertProducts(Self.products + [Product(id: "P6", title: "Rain jacket", category: "Outdoor > Jackets")])
        _ = try await original.appendEvents((1...4).map { Event(shopperID: "S\($0)", productID: "P\($0)", type: .purchase, timestampMillis: Int64($0) * 1_000) })
        var snapshot = try await original.snapshot()
        let now = Timestamps.nowMillis()
        for i in snapshot.products.indices {
            snapshot.products[i].addedAt = snapshot.products[i].key == "P6" ? now - 86_400_000 : now - 30 * 86_400_000
        }
        let store: any CuratorStoring = try SQLiteStore(path: folder.appendingPathComponent("b.sqlite").path, secret: .store)
        try await store.restore(snapshot)
        let added = try await store.productsAdded(sinceMillis: now - 7 * 86_400_000)
        XCTAssertEqual(added.map(\.productID), ["P6"])
        let engine = try await engine(on: store)
        XCTAssertFalse(anonymousList(engine, k: 3).contains("P6"), "never bought: not among the popular")

        _ = try await engine.putMerchandisingRule(try rule(#"{"kind": "boost", "new_for_days": 7, "weight": 1, "surface": "anonymous"}"#, name: "new-in"))
        var list = engine.serveRecommendations(history: [], sessionShopper: nil, request: RecommendationRequest(k: 3))
        let jacket = try XCTUnwrap(list.items.first { $0.productID == "P6" }, "\(list.items.map(\.productID))")
        XCTAssertEqual(jacket.rule, "new-in")
        XCTAssertEqual(jacket.evidence.source, .featured, "popularity is not why it is there")
        XCTAssertTrue(list.items.filter { $0.productID != "P6" }.allSatisfy { $0.rule == nil }, "a month old is not new")
        let shopperList = try await engine.serveRecommendations(shopper: "S9", request: RecommendationRequest(k: 3))
        XCTAssertFalse(shopperList.items.contains { $0.productID == "P6" }, "the rule is for the anonymous surface only")

        // A product stored now is new at once.
        _ = try await engine.upsertProducts([Product(id: "P7", title: "Tent", category: "Outdoor > Camping")])
        list = engine.serveRecommendations(history: [], sessionShopper: nil, request: RecommendationRequest(k: 4))
        XCTAssertEqual(list.items.first { $0.productID == "P7" }?.rule, "new-in", "\(list.items.map(\.productID))")
        await original.close()
        await store.close()
    }
}
