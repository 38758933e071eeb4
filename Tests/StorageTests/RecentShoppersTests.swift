import CuratorCore
import Foundation
import Storage
import StoreTestSupport
import XCTest

/// The recent-shoppers list reads `shoppers.last_seen`, which every write path must keep: file
/// imports and the API's event batches, newer events moving a shopper up and older ones not.
/// On both stores (`eachStore`).
final class RecentShoppersTests: XCTestCase {
    func testImportsAndAPIWritesKeepTheListInOrder() async throws {
        let tmp = try TemporaryFolder()
        let products = try tmp.write("products.csv", catalogue)
        let events = try tmp.write("events.csv", """
            user_id,product_id,event,timestamp
            u1,P1,view,2024-01-01T10:00:00Z
            u1,P3,view,2024-01-03T10:00:00Z
            u2,P2,cart,2024-01-02T10:00:00Z
            u3,P3,view,2024-01-01T09:00:00Z

            """)
        try await eachStore { test in
            let store = test.store
            _ = try await store.importProducts(from: products)
            _ = try await store.importEvents(from: events)
            func order() async throws -> [String] { try await store.recentShoppers(limit: 10).map(\.pseudonym) }
            let key = { (id: String) in store.shopperKey(for: id) }
            var now = try await order()
            XCTAssertEqual(now, [key("u1"), key("u2"), key("u3")], "\(test.backend)")
            let first = try await XCTUnwrapAsync(try await store.recentShoppers(limit: 1).first)
            XCTAssertEqual(first.events, 2)
            XCTAssertEqual(first.lastSeenMillis, 1_704_276_000_000, "2024-01-03T10:00:00Z")
            XCTAssertEqual(first.topCategory, "Kitchen", "\(test.backend): u1's categories tie at one each; the first by name")

            // A newer event through the API moves its shopper to the top; an older one does not.
            let newer = try await store.appendEvents([Event(shopperID: "u3", productID: "P1", type: .view, timestampMillis: 1_704_362_400_000)])
            XCTAssertTrue(newer.problems.isEmpty)
            now = try await order()
            XCTAssertEqual(now, [key("u3"), key("u1"), key("u2")], "\(test.backend)")
            _ = try await store.appendEvents([Event(shopperID: "u2", productID: "P1", type: .view, timestampMillis: 1_000)])
            now = try await order()
            XCTAssertEqual(now, [key("u3"), key("u1"), key("u2")], "\(test.backend)")
            let two = try await store.recentShoppers(limit: 2)
            XCTAssertEqual(two.count, 2)

            // A refused batch (an unknown product) moves nobody.
            let refused = try await store.appendEvents([Event(shopperID: "u2", productID: "NOPE", type: .view, timestampMillis: 1_800_000_000_000)])
            XCTAssertFalse(refused.problems.isEmpty)
            now = try await order()
            XCTAssertEqual(now, [key("u3"), key("u1"), key("u2")], "\(test.backend)")
        }
    }
}

/// `XCTUnwrap` for a value that has to be awaited first.
// swift-format-ignore: AlwaysUseLowerCamelCase
func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    let resolved = try await value()
    return try XCTUnwrap(resolved, file: file, line: line)
}
