import CuratorCore
import CuratorEngine
import Foundation
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// Erasure on both stores: the shopper's events, preference and served lists go in one
/// transaction, popularity loses their contribution, and on PostgreSQL another replica forgets
/// them when it follows the change log.
final class ShopperErasureTests: XCTestCase {
    private func engine(on store: any CuratorStoring) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
    }

    func testAnErasedShopperIsGoneFromTheStoreAndFromEveryReplica() async throws {
        try await eachStore(secret: .store) { test in
            _ = try await test.store.upsertProducts([Product(id: "P1", title: "Trail boots"), Product(id: "P2", title: "Hiking socks"),
                                                     Product(id: "P3", title: "Camping stove")])
            let a = try await engine(on: test.store)
            _ = try await a.record([Event(shopperID: "S1", productID: "P1", type: .purchase, timestampMillis: 1_000),
                                    Event(shopperID: "S1", productID: "P2", type: .view, timestampMillis: 2_000),
                                    Event(shopperID: "S2", productID: "P2", type: .view, timestampMillis: 3_000)])
            try await a.setPersonalised(false, shopID: "S1")
            _ = try await a.serveRecommendations(shopper: "S1", request: RecommendationRequest(k: 2))
            try await a.flushOnlineLog()
            let other = try await test.reopen(.store)
            let b = try await engine(on: other)
            XCTAssertFalse(b.isPersonalised(shopID: "S1"), "\(test.backend): the preference is stored")
            _ = try await b.history(ofShopper: "S1")  // cached on a replica of a shared store
            let follower = StoreFollower(engine: b, modelSaved: {})
            _ = try await follower.catchUp()
            XCTAssertGreaterThan(b.popularity(of: "P1") ?? 0, 0)

            let erased = try await a.eraseShopper(shopID: "S1")
            XCTAssertTrue(erased)
            let again = try await a.eraseShopper(shopID: "S1")
            XCTAssertFalse(again, "nothing is left to erase")
            let events = try await test.store.events(forShopID: "S1")
            XCTAssertTrue(events.isEmpty, "\(test.backend)")
            let summary = try await test.store.shopperSummary(shopID: "S1")
            XCTAssertNil(summary)
            let optedOut = try await test.store.shoppersWithoutPersonalisation()
            XCTAssertTrue(optedOut.isEmpty)
            let lists = try await test.store.servedLists(shopperKeys: [test.store.shopperKey(for: "S1")], sinceMillis: 0)
            XCTAssertTrue(lists.isEmpty, "\(test.backend): their served lists go too")
            XCTAssertEqual(a.popularity(of: "P1") ?? 0, 0, "\(test.backend)")
            XCTAssertGreaterThan(a.popularity(of: "P2") ?? 0, 0, "S2's view stays")
            let s2 = try await test.store.events(forShopID: "S2")
            XCTAssertEqual(s2.count, 1)

            if test.backend == .postgres {
                _ = try await follower.catchUp()
                XCTAssertEqual(b.popularity(of: "P1") ?? 0, 0, "the other replica forgot S1's purchase")
                XCTAssertTrue(b.isPersonalised(shopID: "S1"))
                let history = try await b.history(ofShopper: "S1")
                XCTAssertTrue(history.isEmpty, "and its cached history of S1")
                await other.close()
            }
        }
    }
}
