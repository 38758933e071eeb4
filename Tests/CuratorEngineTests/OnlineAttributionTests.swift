import CuratorCore
import CuratorEngine
import Foundation
import SQLiteStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// Attribution on both stores, across engines: a list served by one engine (a replica, or the
/// same file after a restart) is credited with the events another records, by the id the event
/// names or by the attribution window; the log survives a store copy and is pruned by age.
final class OnlineAttributionTests: XCTestCase {
    private func engine(on store: any CuratorStoring) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
    }

    private let products = [
        Product(id: "P1", title: "Trail boots", category: "Outdoor > Boots", price: "80.00"),
        Product(id: "P2", title: "Hiking socks", category: "Outdoor > Socks", price: "9.50"),
        Product(id: "P3", title: "Camping stove", category: "Outdoor > Camping", price: "40.00"),
        Product(id: "P4", title: "Rain jacket", category: "Outdoor > Jackets", price: "120.00"),
    ]

    func testEventsOnOneEngineAreCreditedToListsServedByAnother() async throws {
        try await eachStore(secret: .store) { test in
            _ = try await test.store.upsertProducts(products)
            _ = try await test.store.appendEvents([Event(shopperID: "S1", productID: "P1", type: .view, timestampMillis: 1_000)])
            let a = try await engine(on: test.store)
            let list = try await a.serveRecommendations(shopper: "S1", request: RecommendationRequest(k: 3))
            let id = try XCTUnwrap(list.recommendationID)
            let shown = list.items.map(\.productID)
            XCTAssertEqual(list.items.map(\.position), [1, 2, 3])
            try await a.flushOnlineLog()
            let stored = try await test.store.servedList(id: id)
            XCTAssertEqual(stored?.productIDs, shown, "\(test.backend)")
            XCTAssertEqual(stored?.shopperKey, test.store.shopperKey(for: "S1"))
            XCTAssertEqual(stored?.surface, .shopper)

            let other = try await test.reopen(.store)
            let b = try await engine(on: other)
            let now = Timestamps.nowMillis()
            // By window: the shown product, clicked without an id; a day and more later, nothing.
            _ = try await b.record([
                Event(shopperID: "S1", productID: shown[0], type: .click, timestampMillis: now),
                Event(shopperID: "S1", productID: shown[1], type: .purchase, timestampMillis: now + 25 * 3_600_000, quantity: 1, price: "9.50"),
                Event(shopperID: "S2", productID: shown[2], type: .click, timestampMillis: now),
            ])
            // By id: a cart of the third card.
            _ = try await b.record([Event(shopperID: "S1", productID: shown[2], type: .cart, timestampMillis: now + 1)], recommendationIDs: [id])
            try await b.flushOnlineLog()
            let report = try await b.onlineReport(sinceMillis: 0, untilMillis: now + 60_000, groupBy: [.surface])
            let row = try XCTUnwrap(report.rows.first { $0.group == "shopper" }, "\(test.backend)")
            XCTAssertEqual(row.lists, 1)
            XCTAssertEqual(row.clicks, 1, "\(test.backend): S1's click is credited; S2 was not shown the list")
            XCTAssertEqual(row.carts, 1, "\(test.backend)")
            XCTAssertEqual(row.purchases, 0, "\(test.backend): 25 hours later is outside the window")

            // A copy carries the log; pruning by age removes it with its attributions.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-copy-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let copy = try SQLiteStore(path: folder.appendingPathComponent("copy.sqlite").path, secret: .store)
            try await copy.restore(try await other.snapshot())
            let original = try await other.onlineLog(fromMillis: 0, untilMillis: .max)
            let copied = try await copy.onlineLog(fromMillis: 0, untilMillis: .max)
            XCTAssertEqual(copied.lists, original.lists)
            XCTAssertEqual(Set(copied.attributed), Set(original.attributed))
            XCTAssertEqual(copied.attributed.count, 2)
            let pruned = try await other.pruneOnlineLog(before: now + 60_000)
            XCTAssertEqual(pruned, 1)
            let empty = try await other.onlineLog(fromMillis: 0, untilMillis: .max)
            XCTAssertTrue(empty.lists.isEmpty && empty.attributed.isEmpty, "\(test.backend)")
            let footprint = try await copy.servedListFootprint()
            XCTAssertEqual(footprint.lists, 1)
            if test.backend == .postgres { await other.close() }
        }
    }

    func testAnExperimentAssignsTheSameVariantOnEveryEngine() async throws {
        try await eachStore(secret: .store) { test in
            _ = try await test.store.upsertProducts(products)
            let a = try await engine(on: test.store)
            _ = try await a.startExperiment(name: "ab", surface: .shopper, method: .ab,
                                            variants: [.init(name: "pop", model: "popular"), .init(name: "sem", model: "semantic")])
            let other = try await test.reopen(.store)
            let b = try await engine(on: other)
            try await b.refreshExperiments()
            for shopper in (0..<20).map({ "S\($0)" }) {
                let fromA = try await a.serveRecommendations(shopper: shopper, request: RecommendationRequest(k: 2))
                let fromB = try await b.serveRecommendations(shopper: shopper, request: RecommendationRequest(k: 2))
                XCTAssertEqual(fromA.variant, fromB.variant, "\(test.backend) \(shopper)")
                XCTAssertEqual(fromA.experiment, "ab")
            }
            // The store itself keeps one running experiment per surface, whichever replica asks.
            let second = Experiment(name: "other", surface: .shopper, method: .ab,
                                    variants: [.init(name: "x", model: "popular"), .init(name: "y", model: "semantic")], startedAtMillis: 1)
            let created = try await other.createExperiment(second)
            XCTAssertFalse(created, "\(test.backend)")
            var onAnotherSurface = second
            onAnotherSurface.surface = .anonymous
            let createdElsewhere = try await other.createExperiment(onAnotherSurface)
            XCTAssertTrue(createdElsewhere, "\(test.backend)")
            if test.backend == .postgres { await other.close() }
        }
    }
}
