import CuratorCore
import Foundation
import PostgresNIO
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// The serving reads of `PostgresQueries` answer as the SQLite store's do, after the same writes.
final class PostgresQueriesTests: XCTestCase {
    private let logger = TestDatabase.logger

    /// An event as both stores report it, without the store-internal row id.
    private struct Seen: Hashable {
        var shopperKey: String, productID: String, type: EventType, ts: Int64, quantity: Int64?, price: String?
        init(_ e: StoredEvent) {
            (shopperKey, productID, type, ts, quantity, price) = (e.shopperKey, e.productID, e.type, e.timestampMillis, e.quantity, e.price)
        }
    }

    func testReadsAfterTheSameWritesMatchTheSQLiteStore() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-pg-queries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = try PseudonymSecret(bytes: [UInt8](repeating: 3, count: 32), origin: "test")
        let sqlite = try CuratorStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .external(secret))
        let pseudonymizer = ShopperPseudonymizer(secret: secret)
        let products = (1...6).map { Product(id: "P\($0)", title: "Product \($0)", brand: $0 % 2 == 0 ? "Even" : "Odd", price: "\($0).50") }
        var events: [Event] = []
        for i in 0..<40 {
            events.append(Event(shopperID: "shopper-\(i % 4)", productID: "P\(i % 6 + 1)", type: EventType.allCases[i % 5],
                                timestampMillis: Int64(1_000 + i * 7 % 23), quantity: i % 5 == 4 ? 1 : nil, price: i % 5 == 4 ? "2.00" : nil))
        }
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            let db = connections[0]
            _ = try sqlite.upsertProducts(products)
            _ = try await PostgresCatalogue.upsert(products, on: db, logger: logger)
            for batch in [Array(events[0..<25]), Array(events[15..<40])] {
                _ = try sqlite.appendEvents(batch)
                _ = try await PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: db, logger: logger)
            }
            XCTAssertTrue(try sqlite.deleteProduct(id: "P6"))
            let deleted = try await PostgresCatalogue.delete(id: "P6", on: db, logger: logger)
            XCTAssertTrue(deleted)

            let all = try await PostgresQueries.allProducts(on: db, logger: logger)
            XCTAssertEqual(all.map(\.product), try sqlite.allProducts().map(\.product))
            for id in ["P2", " P3 ", "P6", "P404"] {
                let one = try await PostgresQueries.product(id: id, on: db, logger: logger)
                XCTAssertEqual(one, try sqlite.product(id: id), id)
            }
            for shopper in ["shopper-0", "shopper-3", " shopper-1", "nobody"] {
                for newest in [nil, 0, 3] as [Int?] {
                    let got = try await PostgresQueries.events(forShopID: shopper, pseudonymizer: pseudonymizer, newest: newest, on: db, logger: logger)
                    XCTAssertEqual(got.map(Seen.init), try sqlite.events(forShopID: shopper, newest: newest).map(Seen.init), "\(shopper), newest \(String(describing: newest))")
                }
            }
            let counts = try await PostgresQueries.productEventCounts(on: db, logger: logger)
            func sorted(_ rows: [(productID: String, type: EventType, count: Int)]) -> [String] {
                rows.map { "\($0.productID) \($0.type) \($0.count)" }.sorted()
            }
            XCTAssertEqual(sorted(counts), sorted(try sqlite.productEventCounts()))
            XCTAssertFalse(counts.isEmpty)
        }
    }
}
