import CuratorCore
import CuratorEngine
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// Two replicas on one PostgreSQL store, in process: what one engine writes, the other's
/// `StoreFollower` applies in commit order, once.
final class StoreFollowerTests: XCTestCase {
    private func engine(on store: any CuratorStoring) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue())
    }

    private func product(_ id: String, _ title: String) -> Product {
        Product(id: id, title: title, category: "Outdoor > Boots", price: "10.00")
    }

    func testAReplicaAppliesAnotherReplicasChangesInCommitOrder() async throws {
        try await withPostgresSchema { location in
            let storeA = try await PostgresStore.open(location, secret: .store)
            defer { storeA.close() }
            _ = try await storeA.upsertProducts([product("P1", "Trail boots"), product("P2", "Hiking socks"), product("P3", "Camping stove")])
            let a = try await engine(on: storeA)
            let storeB = try await PostgresStore.open(location, secret: .store)
            defer { storeB.close() }
            let b = try await engine(on: storeB)
            let follower = StoreFollower(engine: b, modelSaved: {})
            let initial = try await follower.catchUp()
            XCTAssertEqual(initial, 0, "nothing committed since B loaded")

            // On A, in this order: a new product, a changed title, a delete then a re-create, a delete.
            _ = try await a.upsertProducts([product("P4", "Rain jacket")])
            _ = try await a.upsertProducts([product("P1", "Waterproof trail boots")])
            let deletedP2 = try await a.deleteProduct(id: "P2")
            XCTAssertTrue(deletedP2)
            _ = try await a.upsertProducts([product("P2", "Wool hiking socks")])
            let deletedP3 = try await a.deleteProduct(id: "P3")
            XCTAssertTrue(deletedP3)
            _ = try await a.record((0..<3).map { Event(shopperID: "S\($0)", productID: "P4", type: .purchase, timestampMillis: 1_000 + Int64($0)) })
            XCTAssertNil(b.product(id: "P4"), "B has not followed yet")

            let applied = try await follower.catchUp()
            XCTAssertEqual(applied, 6, "five product changes and one event batch")
            XCTAssertEqual(b.product(id: "P4")?.title, "Rain jacket")
            XCTAssertEqual(b.product(id: "P1")?.title, "Waterproof trail boots")
            XCTAssertEqual(b.product(id: "P2")?.title, "Wool hiking socks", "re-created after its delete: the later change wins")
            XCTAssertNil(b.product(id: "P3"))
            XCTAssertEqual(b.productCount, a.productCount)
            XCTAssertEqual(b.popularity(of: "P4"), a.popularity(of: "P4"))
            XCTAssertGreaterThan(b.popularity(of: "P4") ?? 0, 0)
            // The new product is ranked on B from A's stored vector: it is its own nearest neighbour's neighbour.
            let similar = try b.similar(to: "P1", k: 3, language: .en).map(\.productID)
            XCTAssertTrue(similar.contains("P4") || similar.contains("P2"), "\(similar)")

            // Applied once: a second catch-up changes nothing; B's own events are counted once.
            let again = try await follower.catchUp()
            XCTAssertEqual(again, 0)
            let before = b.popularity(of: "P1") ?? 0
            _ = try await b.record([Event(shopperID: "S9", productID: "P1", type: .purchase, timestampMillis: 5_000)])
            let afterOwnWrite = b.popularity(of: "P1") ?? 0
            XCTAssertGreaterThan(afterOwnWrite, before)
            let own = try await follower.catchUp()
            XCTAssertEqual(own, 1, "B's own event batch is in the log")
            XCTAssertEqual(b.popularity(of: "P1"), afterOwnWrite, "and skipped: it was counted when B stored it")
        }
    }

    func testASQLiteStoreHasNoOneToFollow() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-follow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        _ = try await store.upsertProducts([product("P1", "Trail boots")])
        let engine = try await engine(on: store)
        XCTAssertFalse(engine.followsOtherServers)
        let applied = try await StoreFollower(engine: engine, modelSaved: {}).catchUp()
        XCTAssertEqual(applied, 0)
    }
}
