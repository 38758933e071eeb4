import CuratorCore
import CuratorEngine
import Foundation
import SQLiteStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// A clean stop describes a large catalogue beside its graph; the next start restores it from
/// there, reading from the store only what changed meanwhile, and serves what a start that read
/// everything would.
final class CatalogueSnapshotTests: XCTestCase {
    private func products(_ range: Range<Int>) -> [Product] {
        let words = ["trail", "boots", "stove", "espresso", "grinder", "knife", "tent", "jacket", "socks", "kettle", "lamp", "rope"]
        var generator = SeededGenerator(seed: 17)
        return range.map { i in
            Product(id: "P\(i)", title: (0..<4).map { _ in words.randomElement(using: &generator)! }.joined(separator: " ") + " \(i % 50)",
                    brand: "B\(i % 7)", category: "Shop > C\(i % 5)", price: "\(i % 40 + 1).00")
        }
    }

    func testARestartRestoresTheCatalogueAndReadsOnlyWhatChanged() async throws {
        try await eachStore(secret: .store) { test in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-snapshot-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = test.store
            let catalogue = products(0..<400)
            _ = try await store.upsertProducts(catalogue)
            let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
            _ = try await embedding.upToDateCatalogue()
            let graph = folder.appendingPathComponent("shop.hnsw").path
            let options = LiveCatalogue.IndexOptions(threshold: 100, path: graph)
            let description = graph + ".catalogue"

            do {
                let first = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: options)
                XCTAssertTrue(first.indexOrigin.hasPrefix("built"), "\(test.backend): \(first.indexOrigin)")
                // A write while serving (P2's text): a clean stop takes its store version, so it is not read again.
                _ = try await first.upsertProducts([Product(id: "P1", title: catalogue[2].title, brand: catalogue[2].brand,
                                                            category: catalogue[2].category, price: catalogue[2].price)])
                try await first.saveIndex(to: graph)
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: description), "\(test.backend): a clean stop describes the catalogue")

            // While no server runs: a product out of stock, one deleted, one added (texts already encoded).
            _ = try await store.upsertProducts([Product(id: "P5", title: catalogue[5].title, brand: catalogue[5].brand,
                                                        category: catalogue[5].category, price: catalogue[5].price, inStock: false)])
            let deleted = try await store.deleteProduct(id: "P9")
            XCTAssertTrue(deleted)
            _ = try await store.upsertProducts([Product(id: "NEW", title: catalogue[3].title, brand: "B3", category: "Shop > C3", price: "4.00")])

            let restored = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: options)
            XCTAssertTrue(restored.indexOrigin.hasPrefix("restored"), "\(test.backend): \(restored.indexOrigin)")
            XCTAssertTrue(restored.indexOrigin.contains("2 products read again from the store, 1 taken out"), "\(test.backend): \(restored.indexOrigin)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: description), "\(test.backend): the description goes before the vectors can change")
            XCTAssertTrue(restored.vectorsAreMapped)

            // The same lists as a start that reads the whole store.
            let fresh = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: LiveCatalogue.IndexOptions(threshold: 100))
            XCTAssertEqual(restored.productCount, fresh.productCount, "\(test.backend)")
            XCTAssertEqual(restored.productCount, 400)
            for id in ["P0", "P1", "P3", "P5", "P77", "NEW", "P390"] {
                let want = try fresh.similar(to: id, k: 10, language: .en)
                let got = try restored.similar(to: id, k: 10, language: .en)
                XCTAssertEqual(got.map(\.score), want.map(\.score), "\(test.backend): \(id)")
                XCTAssertFalse(got.contains { $0.productID == "P5" || $0.productID == "P9" }, "\(test.backend): out of stock and deleted stay out")
            }
            let searches = try XCTUnwrap(restored.vectorSearchStatistics)
            XCTAssertGreaterThanOrEqual(searches.searches, 7, "\(test.backend): the similar lists went through the graph")
            XCTAssertEqual(searches.exactScans, searches.searches, "\(test.backend): under 2,000 products a filtered search scans them all")
            XCTAssertThrowsError(try restored.similar(to: "P9", k: 10, language: .en), "\(test.backend): the deleted product is gone")
            XCTAssertTrue(try restored.similar(to: "P1", k: 10, language: .en).contains { $0.productID == "P2" },
                          "\(test.backend): P1 has the text it was given while serving")

            // A server that dies (this one is never saved) leaves no description: the next start reads the store.
            let afterCrash = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: options)
            XCTAssertFalse(afterCrash.indexOrigin.hasPrefix("restored"), "\(test.backend): \(afterCrash.indexOrigin)")
            try await afterCrash.saveIndex(to: graph)
            XCTAssertFalse(FileManager.default.fileExists(atPath: description),
                           "\(test.backend): the kept vector file is the running engine's (locked): this one's rows were in a file of its own, nothing to describe")
        }
    }

    func testADescriptionOfAnotherCatalogueIsNotUsed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let graph = folder.appendingPathComponent("shop.hnsw").path
        let options = LiveCatalogue.IndexOptions(threshold: 100, path: graph)
        for name in ["a", "b"] {
            let store = try SQLiteStore(path: folder.appendingPathComponent("\(name).sqlite").path, secret: .store)
            _ = try await store.upsertProducts(products(0..<300))
            let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
            _ = try await embedding.upToDateCatalogue()
            // Store b finds the graph and description store a left at the same path.
            let engine = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: options)
            XCTAssertFalse(engine.indexOrigin.hasPrefix("restored"), "\(name): \(engine.indexOrigin)")
            try await engine.saveIndex(to: graph)
            await store.close()
        }
        // A description cut short is not one.
        let description = graph + ".catalogue"
        let whole = try Data(contentsOf: URL(fileURLWithPath: description))
        try whole.prefix(whole.count - 9).write(to: URL(fileURLWithPath: description))
        let store = try SQLiteStore(path: folder.appendingPathComponent("b.sqlite").path, secret: .store)
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        let engine = try await RecommendationEngine.start(store: store, embedding: embedding, indexOptions: options)
        XCTAssertTrue(engine.indexOrigin.hasPrefix("loaded"), engine.indexOrigin)
    }

    func testEveryWriteOfAProductGivesItANewVersion() async throws {
        try await eachStore(secret: .store) { test in
            let product = Product(id: "P1", title: "Kettle", category: "Kitchen")
            _ = try await test.store.upsertProducts([product])
            var seen: [Int64] = []
            for i in 0..<5 {
                var changed = product
                changed.price = "\(i).00"
                _ = try await test.store.upsertProducts([changed])
                let versions = try await test.store.productVersions()
                seen.append(versions[0].version)
            }
            XCTAssertEqual(Set(seen).count, 5, "\(test.backend): writes within one millisecond still change the version")
            XCTAssertEqual(seen, seen.sorted(), "\(test.backend)")
        }
    }
}
