import CuratorCore
import CuratorEngine
import Foundation
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// Popularity counts a shopper at most once per product, event type and UTC day, on both stores,
/// at start (the stores' counts), on each write and on a replica following another's writes.
final class PopularityAbuseTests: XCTestCase {
    private func engine(on store: any CuratorStoring) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
    }

    func testOneShopperRepeatingAnEventMovesPopularityOncePerDay() async throws {
        try await eachStore(secret: .store) { test in
            _ = try await test.store.upsertProducts([Product(id: "P1", title: "Trail boots"), Product(id: "P2", title: "Hiking socks")])
            let a = try await engine(on: test.store)
            let other = try await test.reopen(.store)
            let b = try await engine(on: other)
            let follower = StoreFollower(engine: b, modelSaved: {})
            _ = try await follower.catchUp()

            let day: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
            // One shopper, 200 purchases of P1 in one day (two batches, repeats inside each), then one the next day.
            let burst = (0..<100).map { Event(shopperID: "spammer", productID: "P1", type: .purchase, timestampMillis: day + Int64($0) * 1_000) }
            let first = try await a.record(burst)
            XCTAssertEqual(first.inserted, 100)
            XCTAssertEqual(first.countsTowardPopularity.count { $0 }, 1, "\(test.backend)")
            XCTAssertTrue(first.countsTowardPopularity[0])
            let second = try await a.record(burst.map { var e = $0; e.timestampMillis += 500; return e })
            XCTAssertEqual(second.countsTowardPopularity.count { $0 }, 0, "\(test.backend): the same day again")
            _ = try await a.record([Event(shopperID: "spammer", productID: "P1", type: .purchase, timestampMillis: day + 86_400_000)])
            XCTAssertEqual(a.popularity(of: "P1"), 2 * EventType.purchase.weight, "\(test.backend): two days, two counts")
            // Another shopper and another type each count.
            _ = try await a.record([Event(shopperID: "someone", productID: "P1", type: .purchase, timestampMillis: day),
                                    Event(shopperID: "spammer", productID: "P1", type: .view, timestampMillis: day)])
            let expected = 3 * EventType.purchase.weight + EventType.view.weight
            XCTAssertEqual(a.popularity(of: "P1"), expected, "\(test.backend)")

            // The store's counts say the same (what a restart reads).
            let counts = try await test.store.productEventCounts()
            XCTAssertEqual(counts.first { $0.productID == "P1" && $0.type == .purchase }?.count, 3, "\(test.backend)")
            let restarted = try await engine(on: other)
            XCTAssertEqual(restarted.popularity(of: "P1"), expected, "\(test.backend): after a restart")
            if test.backend == .postgres {
                _ = try await follower.catchUp()
                XCTAssertEqual(b.popularity(of: "P1"), expected, "a replica following the writes")
                await other.close()
            }
        }
    }
}
