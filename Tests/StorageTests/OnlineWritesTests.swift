import CuratorCore
import Storage
import XCTest

final class OnlineWritesTests: XCTestCase {
    func testAppendReportsWhichEventsWereNew() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        _ = try store.upsertProducts([Product(id: "P1", title: "One"), Product(id: "P2", title: "Two")])
        let view = Event(shopperID: "s1", productID: "P1", type: .view, timestampMillis: 1_000)
        let cart = Event(shopperID: "s1", productID: "P2", type: .cart, timestampMillis: 2_000)

        let first = try store.appendEvents([view, cart, cart])
        XCTAssertEqual(first.isNew, [true, true, false], "the second identical cart in one batch is a duplicate")
        XCTAssertEqual(first.inserted, 2)
        XCTAssertEqual(first.duplicates, 1)

        let resent = try store.appendEvents([view])
        XCTAssertEqual(resent.isNew, [false])
        XCTAssertEqual(resent.duplicates, 1)

        let refused = try store.appendEvents([view, Event(shopperID: "s1", productID: "P9", type: .view, timestampMillis: 3_000)])
        XCTAssertEqual(refused.problems.map(\.index), [1])
        XCTAssertEqual(refused.isNew, [false, false])
        XCTAssertEqual(refused.duplicates, 0, "a refused batch has no duplicates, it was not stored at all")
    }

    func testNewestEventsAreTheRecentEndOldestFirst() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        _ = try store.upsertProducts([Product(id: "P1", title: "One")])
        // Stored out of time order, so the query, not the insertion order, has to pick the newest.
        let events = (0..<50).reversed().map { Event(shopperID: "s1", productID: "P1", type: .view, timestampMillis: Int64($0) * 1_000) }
        _ = try store.appendEvents(events)
        XCTAssertEqual(try store.events(forShopID: "s1", newest: 5).map(\.timestampMillis), [45_000, 46_000, 47_000, 48_000, 49_000])
        XCTAssertEqual(try store.events(forShopID: "s1").count, 50)
        XCTAssertEqual(try store.events(forShopID: "s1").first?.timestampMillis, 0)
    }
}
