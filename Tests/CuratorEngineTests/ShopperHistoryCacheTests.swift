import CuratorCore
import CuratorEngine
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import StoreTestSupport
import TestSupport
import XCTest

/// A replica of a shared store answers shoppers' histories from memory, and never an old one: its
/// own writes, other replicas' writes (through the change log) and bulk imports drop what it held.
final class ShopperHistoryCacheTests: XCTestCase {
    private func engine(on store: any CuratorStoring, cacheBytes: Int = 1 << 20) async throws -> RecommendationEngine {
        let embedding = CatalogueEmbedding(store: store, encoder: WordHashEncoder())
        return try await RecommendationEngine.load(store: store, embedding: embedding, catalogue: try await embedding.upToDateCatalogue(),
                                                   historyCacheBytes: cacheBytes)
    }

    /// The products of a shopper's history as the engine reads it.
    private func products(_ engine: RecommendationEngine, _ shopper: String) async throws -> [String] {
        try await engine.history(ofShopper: shopper).map(\.productID)
    }

    private func view(_ shopper: String, _ product: String, at millis: Int64) -> Event {
        Event(shopperID: shopper, productID: product, type: .view, timestampMillis: millis)
    }

    func testHistoriesStayCurrentAcrossReplicas() async throws {
        try await withPostgresSchema { location in
            let storeA = try await PostgresStore.open(location, secret: .store)
            defer { storeA.close() }
            _ = try await storeA.upsertProducts((1...5).map { Product(id: "P\($0)", title: "Product \($0)") })
            _ = try await storeA.appendEvents([view("S1", "P1", at: 1_000)])
            let a = try await engine(on: storeA)
            let storeB = try await PostgresStore.open(location, secret: .store)
            defer { storeB.close() }
            let b = try await engine(on: storeB)
            let follower = StoreFollower(engine: b, modelSaved: {})

            let read1 = try await products(b, "S1")
            XCTAssertEqual(read1, ["P1"])
            let read2 = try await products(b, "S1")
            XCTAssertEqual(read2, ["P1"])
            XCTAssertEqual(b.historyCacheStatistics?.hits, 1, "the second read is answered from memory")

            // Written on A: B drops S1 when it follows the change log, and reads the new history.
            _ = try await a.record([view("S1", "P2", at: 2_000)])
            _ = try await follower.catchUp()
            let read3 = try await products(b, "S1")
            XCTAssertEqual(read3, ["P1", "P2"])

            // Written on B itself: current at once, before any following.
            _ = try await b.record([view("S1", "P3", at: 3_000)])
            let read4 = try await products(b, "S1")
            XCTAssertEqual(read4, ["P1", "P2", "P3"])

            // A bulk import (the CLI, through the change log) drops everything.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-history-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let file = folder.appendingPathComponent("events.csv").path
            try "user_id,product_id,event,timestamp\nS1,P4,view,1970-01-01T00:00:04Z\n".write(toFile: file, atomically: true, encoding: .utf8)
            _ = try await storeA.importEvents(from: file)
            _ = try await follower.catchUp()
            let read5 = try await products(b, "S1")
            XCTAssertEqual(read5, ["P1", "P2", "P3", "P4"])

            // The history as the store has it, whichever way it was read.
            let cached = try await b.history(ofShopper: "S1")
            let stored = try await storeB.events(forShopID: "S1", newest: b.historyLimit)
            XCTAssertEqual(cached, stored)
        }
    }

    func testTheBudgetBoundsWhatIsHeld() async throws {
        try await withPostgresSchema { location in
            let store = try await PostgresStore.open(location, secret: .store)
            defer { store.close() }
            _ = try await store.upsertProducts([Product(id: "P1", title: "Product 1")])
            _ = try await store.appendEvents((0..<50).map { view("S\($0)", "P1", at: 1_000 + Int64($0)) })
            let small = try await engine(on: store, cacheBytes: 2_000)
            for shopper in 0..<50 { _ = try await small.history(ofShopper: "S\(shopper)") }
            let statistics = try XCTUnwrap(small.historyCacheStatistics)
            XCTAssertLessThanOrEqual(statistics.bytes, 2_000)
            XCTAssertLessThan(statistics.shoppers, 50, "the least recently used shoppers left")
            XCTAssertGreaterThan(statistics.shoppers, 0)
        }
    }

    func testASQLiteStoreKeepsNoCopy() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        _ = try await store.upsertProducts([Product(id: "P1", title: "Product 1")])
        let local = try await engine(on: store)
        XCTAssertNil(local.historyCacheStatistics, "another process may write the file without a change log")
    }
}
