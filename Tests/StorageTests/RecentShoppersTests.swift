import CuratorCore
import Foundation
import Storage
import XCTest

/// The recent-shoppers list reads `shoppers.last_seen`, which every write path must keep: file
/// imports and the API's event batches, newer events moving a shopper up and older ones not.
final class RecentShoppersTests: XCTestCase {
    func testImportsAndAPIWritesKeepTheListInOrder() throws {
        let tmp = try TemporaryFolder()
        let store = try tmp.store()
        try store.importProducts(from: try tmp.write("products.csv", catalogue))
        try store.importEvents(from: try tmp.write("events.csv", """
            user_id,product_id,event,timestamp
            u1,P1,view,2024-01-01T10:00:00Z
            u1,P3,view,2024-01-03T10:00:00Z
            u2,P2,cart,2024-01-02T10:00:00Z
            u3,P3,view,2024-01-01T09:00:00Z

            """))
        func order() throws -> [String] { try store.recentShoppers(limit: 10).map(\.pseudonym) }
        let key = { (id: String) in store.shopperKey(for: id) }
        XCTAssertEqual(try order(), [key("u1"), key("u2"), key("u3")])
        let first = try XCTUnwrap(store.recentShoppers(limit: 1).first)
        XCTAssertEqual(first.events, 2)
        XCTAssertEqual(first.lastSeenMillis, 1_704_276_000_000, "2024-01-03T10:00:00Z")
        XCTAssertEqual(first.topCategory, "Kitchen", "u1's categories tie at one each; the first by name")

        // A newer event through the API moves its shopper to the top; an older one does not.
        let newer = try store.appendEvents([Event(shopperID: "u3", productID: "P1", type: .view, timestampMillis: 1_704_362_400_000)])
        XCTAssertTrue(newer.problems.isEmpty)
        XCTAssertEqual(try order(), [key("u3"), key("u1"), key("u2")])
        _ = try store.appendEvents([Event(shopperID: "u2", productID: "P1", type: .view, timestampMillis: 1_000)])
        XCTAssertEqual(try order(), [key("u3"), key("u1"), key("u2")])
        XCTAssertEqual(try store.recentShoppers(limit: 2).count, 2)

        // A refused batch (an unknown product) moves nobody.
        let refused = try store.appendEvents([Event(shopperID: "u2", productID: "NOPE", type: .view, timestampMillis: 1_800_000_000_000)])
        XCTAssertFalse(refused.problems.isEmpty)
        XCTAssertEqual(try order(), [key("u3"), key("u1"), key("u2")])
    }
}
