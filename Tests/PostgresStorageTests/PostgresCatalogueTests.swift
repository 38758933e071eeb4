import CuratorCore
import Foundation
import PostgresNIO
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// `PostgresCatalogue` against a real PostgreSQL, with the SQLite store's rules.
final class PostgresCatalogueTests: XCTestCase {
    private let logger = TestDatabase.logger

    private func storedProducts(_ connection: PostgresConnection) async throws -> [Product] {
        var products: [Product] = []
        for try await (key, title, description, brand, category, price, inStock) in try await connection.query(
            "SELECT product_key, title, description, brand, category, price, in_stock FROM products WHERE NOT deleted ORDER BY product_key",
            logger: logger
        ).decode((String, String, String, String, String, String?, Bool).self) {
            products.append(Product(id: key, title: title, description: description, brand: brand, category: category, price: price, inStock: inStock))
        }
        return products
    }

    func testUpsertsAndDeletesLeaveWhatTheSQLiteStoreLeaves() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-pg-catalogue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqlite = try CuratorStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            let db = connections[0]
            let steps: [[Product]] = [
                [Product(id: " P1 ", title: "  Trail   Jacket ", description: "Write to sales@example.com or +1 415 555 0100", brand: "Summit",
                         category: "Outdoor > Jacket", price: "059.90"),
                 Product(id: "P2", title: "Mug", price: "3"), Product(id: "P2", title: "Mug, the second word wins", inStock: false)],
                [Product(id: "P1", title: "Trail Jacket v2", category: "Outdoor > Jacket"), Product(id: "P3", title: "热水壶 Kettle 1.7L")],
            ]
            var ids: [String: Int64] = [:]
            for (number, step) in steps.enumerated() {
                let expected = try sqlite.upsertProducts(step).map(\.product)
                let got = try await PostgresCatalogue.upsert(step, on: db, logger: logger)
                XCTAssertEqual(got.map(\.product), expected, "step \(number)")
                for (rowID, product) in got {
                    XCTAssertGreaterThan(rowID, 0)
                    if let known = ids[product.id] { XCTAssertEqual(rowID, known, "\(product.id) changed its row id") }
                    ids[product.id] = rowID
                }
            }
            let deletedNow = try await PostgresCatalogue.delete(id: " P2", on: db, logger: logger)
            let deletedAgain = try await PostgresCatalogue.delete(id: "P2", on: db, logger: logger)
            let unknown = try await PostgresCatalogue.delete(id: "P404", on: db, logger: logger)
            XCTAssertEqual([deletedNow, deletedAgain, unknown], [try sqlite.deleteProduct(id: " P2"), try sqlite.deleteProduct(id: "P2"),
                                                                  try sqlite.deleteProduct(id: "P404")])
            XCTAssertEqual([deletedNow, deletedAgain, unknown], [true, false, false])
            let live = try await storedProducts(db)
            XCTAssertEqual(live, try sqlite.allProducts().map(\.product).sorted { $0.id < $1.id })

            // An upsert brings a deleted product back, under its old row id.
            let revived = try await PostgresCatalogue.upsert([Product(id: "P2", title: "Mug again")], on: db, logger: logger)
            XCTAssertEqual(revived.first?.rowID, ids["P2"])
            let afterRevival = try await storedProducts(db)
            XCTAssertEqual(afterRevival.map(\.id), ["P1", "P2", "P3"])
        }
    }
}
