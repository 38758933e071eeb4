import CuratorCore
import CuratorEngine
import Foundation
import PostgresStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// PostgreSQL's identity values advance on every upsert of an existing product, so store ids are
/// not dense: the catalogue's map from store ids to rows must grow with products, not with writes.
final class StoreIDMapTests: XCTestCase {
    func testUpsertingTheSameProductsAgainAndAgainKeepsTheMapFlat() async throws {
        try await eachStore(secret: .store) { test in
            let products = (0..<1_000).map { Product(id: "P\($0)", title: "Product \($0)", category: "Shop > Things", price: "1.00") }
            _ = try await test.store.upsertProducts(products)
            let embedding = CatalogueEmbedding(store: test.store, encoder: WordHashEncoder())
            let engine = try await RecommendationEngine.load(store: test.store, embedding: embedding,
                                                             catalogue: try await embedding.upToDateCatalogue())
            XCTAssertEqual(engine.storeIDEntries, 1_000, "\(test.backend)")
            for _ in 0..<100 { _ = try await engine.upsertProducts(products) }
            _ = try await engine.upsertProducts([Product(id: "NEW", title: "A new product", category: "Shop > Things")])
            XCTAssertEqual(engine.storeIDEntries, 1_001, "\(test.backend): one entry per product, not per write")
            XCTAssertEqual(engine.productCount, 1_001)
            let found = try await engine.search(text: "a new product", category: nil, limit: 1)
            XCTAssertEqual(found.products.first?.id, "NEW", "\(test.backend): the product written after 100,000 upserts is found")
        }
    }
}
