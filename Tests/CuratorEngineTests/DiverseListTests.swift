import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// Diversity after scoring: nothing changes at 0, a list is never shorter than asked while enough
/// products pass the filters, variety rises with `diversity`, and a category cap holds while the
/// catalogue allows.
final class DiverseListTests: XCTestCase {
    private func shop() async throws -> (RecommendationEngine, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-diverse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        var products: [Product] = []
        for i in 0..<12 { products.append(Product(id: "B\(i)", title: "Bluetooth speaker model \(i)", category: "Audio > Speakers")) }
        for i in 0..<4 { products.append(Product(id: "H\(i)", title: "Over-ear headphones \(i)", category: "Audio > Headphones")) }
        for i in 0..<4 { products.append(Product(id: "C\(i)", title: "Speaker cable \(i) metres", category: "Audio > Cables")) }
        _ = try await store.upsertProducts(products)
        _ = try await store.appendEvents([Event(shopperID: "S1", productID: "B0", type: .purchase, timestampMillis: 1_000)])
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return (try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue()), folder)
    }

    func testDiversityReranksWithoutShorteningAndCapsCategories() async throws {
        let (engine, folder) = try await shop()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = try await engine.recommend(shopper: "S1", request: RecommendationRequest(k: 6))
        var zero = RecommendationRequest(k: 6)
        zero.diversity = 0
        let same = try await engine.recommend(shopper: "S1", request: zero)
        XCTAssertEqual(same.items.map(\.productID), plain.items.map(\.productID), "diversity 0 changes nothing")

        var previousCategories = 0
        for diversity: Float in [0, 0.5, 1] {
            var request = RecommendationRequest(k: 6)
            request.diversity = diversity
            let list = try await engine.recommend(shopper: "S1", request: request)
            XCTAssertEqual(list.items.count, 6, "diversity \(diversity) never shortens")
            XCTAssertEqual(Set(list.items.map(\.productID)).count, 6)
            let categories = Set(list.items.compactMap { engine.product(id: $0.productID)?.category }).count
            XCTAssertGreaterThanOrEqual(categories, previousCategories, "variety does not fall as diversity rises")
            previousCategories = categories
        }
        XCTAssertGreaterThan(previousCategories, 1, "at 1 the list leaves the speakers")

        // A cap of 2 per category over 3 categories: 6 fit; 8 asked for, the cap gives way rather than shorten the list.
        var capped = RecommendationRequest(k: 6)
        capped.maxPerCategory = 2
        let six = try await engine.recommend(shopper: "S1", request: capped)
        let counts = Dictionary(grouping: six.items.compactMap { engine.product(id: $0.productID)?.category }) { $0 }.mapValues(\.count)
        XCTAssertEqual(six.items.count, 6)
        XCTAssertTrue(counts.values.allSatisfy { $0 <= 2 }, "\(counts)")
        capped.k = 8
        let eight = try await engine.recommend(shopper: "S1", request: capped)
        XCTAssertEqual(eight.items.count, 8)
        // Filters still apply: only headphones, diversity asked, 4 exist.
        var filtered = RecommendationRequest(k: 10)
        filtered.category = "Audio > Headphones"
        filtered.diversity = 0.7
        let headphones = try await engine.recommend(shopper: "S1", request: filtered)
        XCTAssertEqual(headphones.items.count, 4)
        let similar = try engine.similar(to: "B1", k: 5, language: .en, diversity: 1)
        XCTAssertEqual(similar.count, 5)
    }

    func testVarietyMetricsAndRerankingAgreeWithTheirDefinitions() {
        let vectors: [[Float]] = [[1, 0], [1, 0], [0, 1]]
        let flat = vectors.flatMap { $0 }
        func vector(_ i: Int) -> ArraySlice<Float> { flat[(i * 2)..<(i * 2 + 2)] }
        XCTAssertEqual(ListVariety.intraListDiversity([0, 1, 2], vector: vector), 2.0 / 3, accuracy: 1e-9)
        let candidates = [(index: 0, score: Float(1)), (index: 1, score: 0.9), (index: 2, score: 0.5)]
        let plain = ListVariety(diversity: 0).rerank(candidates, k: 2, vector: vector, category: { _ in "" })
        XCTAssertEqual(plain.map(\.index), [0, 1])
        let varied = ListVariety(diversity: 0.6).rerank(candidates, k: 2, vector: vector, category: { _ in "" })
        XCTAssertEqual(varied.map(\.index), [0, 2], "the duplicate of the first gives way to the different one")
    }
}
