import CuratorCore
import Storage
import StoreTestSupport
import XCTest

/// The API's writes, on both stores (`eachStore`).
final class OnlineWritesTests: XCTestCase {
    func testAppendReportsWhichEventsWereNew() async throws {
        try await eachStore { test in
            let store = test.store
            _ = try await store.upsertProducts([Product(id: "P1", title: "One"), Product(id: "P2", title: "Two")])
            let view = Event(shopperID: "s1", productID: "P1", type: .view, timestampMillis: 1_000)
            let cart = Event(shopperID: "s1", productID: "P2", type: .cart, timestampMillis: 2_000)

            let first = try await store.appendEvents([view, cart, cart])
            XCTAssertEqual(first.isNew, [true, true, false], "\(test.backend): the second identical cart in one batch is a duplicate")
            XCTAssertEqual(first.inserted, 2)
            XCTAssertEqual(first.duplicates, 1)

            let resent = try await store.appendEvents([view])
            XCTAssertEqual(resent.isNew, [false], "\(test.backend)")
            XCTAssertEqual(resent.duplicates, 1)

            let refused = try await store.appendEvents([view, Event(shopperID: "s1", productID: "P9", type: .view, timestampMillis: 3_000)])
            XCTAssertEqual(refused.problems.map(\.index), [1], "\(test.backend)")
            XCTAssertEqual(refused.isNew, [false, false])
            XCTAssertEqual(refused.duplicates, 0, "a refused batch has no duplicates, it was not stored at all")
            let stats = try await store.statistics()
            XCTAssertEqual(stats.events, 2, "\(test.backend): nothing of the refused batch was stored")
        }
    }

    func testNewestEventsAreTheRecentEndOldestFirst() async throws {
        try await eachStore { test in
            let store = test.store
            _ = try await store.upsertProducts([Product(id: "P1", title: "One")])
            // Stored out of time order, so the query, not the insertion order, has to pick the newest.
            let events = (0..<50).reversed().map { Event(shopperID: "s1", productID: "P1", type: .view, timestampMillis: Int64($0) * 1_000) }
            _ = try await store.appendEvents(events)
            let newest = try await store.events(forShopID: "s1", newest: 5)
            XCTAssertEqual(newest.map(\.timestampMillis), [45_000, 46_000, 47_000, 48_000, 49_000], "\(test.backend)")
            let all = try await store.events(forShopID: "s1")
            XCTAssertEqual(all.count, 50)
            XCTAssertEqual(all.first?.timestampMillis, 0)
        }
    }

    func testProductUpsertsDeletesAndTheirTraces() async throws {
        try await eachStore { test in
            let store = test.store
            let stored = try await store.upsertProducts([Product(id: " P1 ", title: "Mail me at a@b.com", price: "12.5"),
                                                         Product(id: "P2", title: "Two")])
            XCTAssertEqual(stored.map(\.product.id), ["P1", "P2"], "\(test.backend): ids trimmed as on import")
            XCTAssertFalse(stored[0].product.title.contains("a@b.com"), "\(test.backend): contact details masked")
            let fetched = try await store.product(id: "P1")
            XCTAssertEqual(fetched, stored[0].product)
            let deleted = try await store.deleteProduct(id: "P2")
            let again = try await store.deleteProduct(id: "P2")
            XCTAssertTrue(deleted)
            XCTAssertFalse(again, "\(test.backend): a deleted product cannot be deleted twice")
            let live = try await store.allProducts()
            XCTAssertEqual(live.map(\.product.id), ["P1"])
            let deletedIDs = try await store.deletedProductRowIDs()
            XCTAssertEqual(deletedIDs, [stored[1].rowID])
            let refused = try await store.appendEvents([Event(shopperID: "s", productID: "P2", type: .view, timestampMillis: 1)])
            XCTAssertEqual(refused.problems.first?.reason, EventProblem.unknownProductReason("P2"), "\(test.backend): a deleted product takes no events")
            // An upsert brings it back under its old row id.
            let back = try await store.upsertProducts([Product(id: "P2", title: "Two again")])
            XCTAssertEqual(back.first?.rowID, stored[1].rowID)
            let count = try await store.productCount(withEmptyTitle: false)
            XCTAssertEqual(count, 2)
        }
    }
}
