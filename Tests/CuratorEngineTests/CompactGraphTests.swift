import CuratorCore
import CuratorEngine
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// The catalogue's graph holds int8 vectors; the engine re-ranks its candidates from the
/// full-precision vectors, so lists through the graph are the exact scan's, scores included.
final class CompactGraphTests: XCTestCase {
    func testListsThroughTheCompactGraphAreTheExactOnes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-compact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        let words = ["trail", "boots", "stove", "espresso", "grinder", "knife", "tent", "jacket", "socks", "kettle", "lamp", "rope"]
        var generator = SeededGenerator(seed: 5)
        let products = (0..<600).map { i in
            Product(id: "P\(i)", title: (0..<4).map { _ in words.randomElement(using: &generator)! }.joined(separator: " "),
                    category: ["Outdoor", "Kitchen", "Home"][i % 3])
        }
        _ = try await store.upsertProducts(products)
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        let catalogue = try await embedding.upToDateCatalogue()
        let exact = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: catalogue)
        let graphed = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: catalogue,
                                                          indexOptions: LiveCatalogue.IndexOptions(threshold: 100))
        XCTAssertTrue(graphed.indexOrigin.hasPrefix("built"), graphed.indexOrigin)
        XCTAssertEqual(exact.indexOrigin, "exact scan")
        for i in stride(from: 0, to: 600, by: 30) {
            let want = try exact.similar(to: "P\(i)", k: 10, language: .en)
            let got = try graphed.similar(to: "P\(i)", k: 10, language: .en)
            XCTAssertEqual(got.count, want.count)
            for (a, b) in zip(got, want) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, "P\(i): the full-precision scores, in order") }
            // Ties may order differently between the two; the scores may not.
            XCTAssertEqual(Set(got.map(\.productID)).count, 10)
        }
        let history = [(productID: "P3", type: EventType.view, timestampMillis: Int64(1_000)), (productID: "P7", type: .cart, timestampMillis: 2_000)]
        let want = exact.recommend(shopper: "S1", history: history, request: RecommendationRequest(k: 10)).items.map(\.score)
        let got = graphed.recommend(shopper: "S1", history: history, request: RecommendationRequest(k: 10)).items.map(\.score)
        XCTAssertEqual(got.count, want.count)
        for (a, b) in zip(got, want) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        await store.close()
    }

    /// With a graph file, the full-precision vectors live in a mapped file beside it; products
    /// upserted past its first capacity grow it, and lists stay the exact ones.
    func testMappedVectorsGrowAndServeTheSameLists() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-mapped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        let words = ["trail", "boots", "stove", "espresso", "grinder", "knife", "tent", "jacket", "socks", "kettle", "lamp", "rope"]
        var generator = SeededGenerator(seed: 9)
        func product(_ i: Int) -> Product {
            Product(id: "P\(i)", title: (0..<4).map { _ in words.randomElement(using: &generator)! }.joined(separator: " "), category: "Shop")
        }
        _ = try await store.upsertProducts((0..<300).map(product))
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        let catalogue = try await embedding.upToDateCatalogue()
        let mapped = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: catalogue,
                                                         indexOptions: LiveCatalogue.IndexOptions(threshold: 100, path: folder.appendingPathComponent("s.hnsw").path))
        XCTAssertTrue(mapped.vectorsAreMapped)
        let inMemory = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: catalogue,
                                                           indexOptions: LiveCatalogue.IndexOptions(threshold: 100, mapsVectors: false))
        XCTAssertFalse(inMemory.vectorsAreMapped)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("vectors") }, [],
                       "the vector file has no name")
        // Past the file's first capacity (1,024 rows): it grows, and the rows written before stay.
        let more = (300..<1_400).map(product)
        _ = try await mapped.upsertProducts(more)
        _ = try await inMemory.upsertProducts(more)
        _ = try await mapped.upsertProducts([Product(id: "P5", title: "espresso grinder kettle", category: "Shop")])
        _ = try await inMemory.upsertProducts([Product(id: "P5", title: "espresso grinder kettle", category: "Shop")])
        for id in ["P1", "P5", "P299", "P700", "P1399"] {
            let want = try inMemory.similar(to: id, k: 10, language: .en)
            let got = try mapped.similar(to: id, k: 10, language: .en)
            XCTAssertEqual(got.count, want.count, id)
            for (a, b) in zip(got, want) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, id) }
        }
        await store.close()
    }
}
