import CuratorCore
import CuratorEngine
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// A server's first start on a large catalogue answers by exact scans while its graph builds on a
/// thread of its own; writes made meanwhile are in the graph when it goes into service.
final class BackgroundGraphTests: XCTestCase {
    func testWritesDuringABackgroundBuildAreInTheGraphAndListsStayExact() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-background-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        let words = ["trail", "boots", "stove", "espresso", "grinder", "knife", "tent", "jacket", "socks", "kettle", "lamp", "rope",
                     "mug", "scarf", "pan", "torch"]
        var generator = SeededGenerator(seed: 21)
        func product(_ i: Int) -> Product {
            Product(id: "P\(i)", title: (0..<4).map { _ in words.randomElement(using: &generator)! }.joined(separator: " "), category: "Shop")
        }
        _ = try await store.upsertProducts((0..<1_500).map(product))
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        let graphFile = folder.appendingPathComponent("s.hnsw").path

        // The build waits until the writes below are done, so they happen while it runs.
        let gate = DispatchSemaphore(value: 0)
        var options = LiveCatalogue.IndexOptions(threshold: 1_000, path: graphFile, buildsInBackground: true)
        options.beforeBackgroundBuild = { gate.wait() }
        let engine = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue(),
                                                         indexOptions: options)
        XCTAssertEqual(engine.vectorSearch, "compact scan while the graph builds")
        XCTAssertEqual(engine.indexOrigin, "compact scan while the graph builds")
        XCTAssertFalse(engine.graphHolds("P0"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: graphFile), "nothing is saved before the graph is built")
        // Answers already, from the compact rows re-ranked exactly: the exact scan's lists.
        let exactBefore = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
        for id in ["P3", "P400", "P1499"] {
            let want = try exactBefore.similar(to: id, k: 10, language: .en)
            let got = try engine.similar(to: id, k: 10, language: .en)
            XCTAssertEqual(got.count, 10, id)
            for (a, b) in zip(got, want) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, "\(id) while the graph builds") }
        }
        XCTAssertNil(engine.vectorSearchStatistics, "no graph has been searched")

        // More new products than the build takes in under the lock, one changed, one deleted.
        let added = (1_500..<1_800).map(product)
        _ = try await engine.upsertProducts(added)
        _ = try await engine.upsertProducts([Product(id: "P5", title: "espresso grinder kettle mug", category: "Shop")])
        let deleted = try await engine.deleteProduct(id: "P7")
        XCTAssertTrue(deleted)
        XCTAssertTrue(engine.vectorSearch == "compact scan while the graph builds", "the writes came before the graph")
        // Written rows are scanned in their new form at once: the lists are the exact ones over the store as it now is.
        let exact = try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
        XCTAssertEqual(exact.indexOrigin, "exact scan")
        for id in ["P5", "P1500", "P1650", "P1799"] {
            let want = try exact.similar(to: id, k: 10, language: .en)
            let got = try engine.similar(to: id, k: 10, language: .en)
            XCTAssertEqual(got.count, want.count, id)
            for (a, b) in zip(got, want) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, "\(id) after the writes, while the graph builds") }
            XCTAssertFalse(got.contains { $0.productID == "P7" }, id)
        }
        gate.signal()
        await engine.waitForGraph()

        XCTAssertEqual(engine.vectorSearch, "graph")
        XCTAssertTrue(engine.indexOrigin.hasPrefix("built in"), engine.indexOrigin)
        XCTAssertTrue(FileManager.default.fileExists(atPath: graphFile), "the built graph is saved for the next start")
        for id in ["P0", "P5", "P1499", "P1500", "P1650", "P1799"] { XCTAssertTrue(engine.graphHolds(id), "\(id) is in the graph") }
        XCTAssertFalse(engine.graphHolds("P7"), "the product deleted during the build is not")

        // Through the graph, lists are the exact scan's over the store as it now is.
        let before = engine.vectorSearchStatistics?.searches ?? 0
        for id in ["P1", "P5", "P300", "P1499", "P1500", "P1799"] {
            let want = try exact.similar(to: id, k: 10, language: .en)
            let got = try engine.similar(to: id, k: 10, language: .en)
            XCTAssertEqual(got.count, want.count, id)
            for (a, b) in zip(got, want) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, "\(id): the full-precision scores, in order") }
            XCTAssertFalse(got.contains { $0.productID == "P7" }, id)
        }
        XCTAssertEqual((engine.vectorSearchStatistics?.searches ?? 0) - before, 6, "the lists came through the graph")
        // A write after the swap goes straight into the graph.
        _ = try await engine.upsertProducts([Product(id: "P9000", title: "torch rope tent lamp", category: "Shop")])
        XCTAssertTrue(engine.graphHolds("P9000"))
        await store.close()
    }
}
