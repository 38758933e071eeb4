import CuratorCore
import Foundation
import PostgresNIO
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// `PostgresEvents.append` against a real PostgreSQL, with the SQLite store's rules.
final class PostgresEventsTests: XCTestCase {
    private let logger = TestDatabase.logger
    private let pseudonymizer = ShopperPseudonymizer(secret: [UInt8](repeating: 7, count: 32))

    private func addProducts(_ keys: [String], deleted: Set<String> = [], on connection: PostgresConnection) async throws {
        for key in keys {
            let gone = deleted.contains(key)
            try await connection.query("INSERT INTO products(product_key, title, deleted, updated_at) VALUES (\(key), \(key), \(gone), 0)",
                                       logger: logger)
        }
    }

    private func count(_ sql: String, on connection: PostgresConnection) async throws -> Int {
        var value = 0
        for try await n in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { value = n }
        return value
    }

    private func event(_ shopper: String, _ product: String, _ type: EventType = .view, at ts: Int64,
                       quantity: Int64? = nil, price: String? = nil) -> Event {
        Event(shopperID: shopper, productID: product, type: type, timestampMillis: ts, quantity: quantity, price: price)
    }

    func testASentAgainBatchIsStoredOnceAndARepeatInsideABatchIsADuplicate() async throws {
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            let db = connections[0]
            try await addProducts(["P1", "P2"], on: db)
            let batch = [event("ann", "P1", at: 1), event("ann", "P2", .purchase, at: 2, quantity: 2, price: "9.90"),
                         event("bob", "P1", at: 1), event("ann", "P1", at: 1)]
            let first = try await PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: db, logger: logger)
            XCTAssertEqual(first.isNew, [true, true, true, false])
            XCTAssertEqual(first.duplicates, 1)
            let again = try await PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: db, logger: logger)
            XCTAssertEqual(again.isNew, [false, false, false, false])
            let events = try await count("SELECT count(*) FROM events", on: db)
            XCTAssertEqual(events, 3)
            // Shoppers under pseudonyms only, with their newest event time.
            let keys = try await count("SELECT count(*) FROM shoppers WHERE shopper_key IN ('ann', 'bob')", on: db)
            XCTAssertEqual(keys, 0, "a shop's own shopper id was stored")
            let ann = pseudonymizer.pseudonym(for: "ann")
            let lastSeen = try await count("SELECT last_seen::bigint FROM shoppers WHERE shopper_key = '\(ann)'", on: db)
            XCTAssertEqual(lastSeen, 2)
        }
    }

    func testABatchNamingAnUnknownOrDeletedProductIsRefusedWholeWithEachOffenderListed() async throws {
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            let db = connections[0]
            try await addProducts(["P1", "GONE"], deleted: ["GONE"], on: db)
            let refused = try await PostgresEvents.append(
                [event("ann", "P1", at: 1), event("ann", "NOPE", at: 2), event("bob", "GONE", at: 3)],
                pseudonymizer: pseudonymizer, on: db, logger: logger)
            XCTAssertEqual(refused.problems.map(\.index), [1, 2])
            XCTAssertEqual(refused.problems.map(\.reason), [EventProblem.unknownProductReason("NOPE"), EventProblem.unknownProductReason("GONE")])
            XCTAssertEqual(refused.isNew, [false, false, false])
            let stored = try await count("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM shoppers)", on: db)
            XCTAssertEqual(stored, 0, "a refused batch left rows behind")
        }
    }

    func testTwoServersStoringTheSameEventsAtOnceKeepEachOnce() async throws {
        try await TestDatabase.withFreshSchema(connections: 2, migrated: true) { connections, _ in
            try await addProducts((1...20).map { "P\($0)" }, on: connections[0])
            let batch = (0..<200).map { i in event("shopper-\(i % 13)", "P\(i % 20 + 1)", at: Int64(i / 3)) }
            let pseudonymizer = self.pseudonymizer, logger = self.logger
            async let a = PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: connections[0], logger: logger)
            async let b = PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: connections[1], logger: logger)
            let (fromA, fromB) = try await (a, b)
            let distinct = Set(batch.map { "\($0.shopperID)|\($0.productID)|\($0.timestampMillis)" }).count
            XCTAssertEqual(fromA.inserted + fromB.inserted, distinct)
            for i in batch.indices { XCTAssertFalse(fromA.isNew[i] && fromB.isNew[i], "event \(i) stored twice") }
            let events = try await count("SELECT count(*) FROM events", on: connections[0])
            let shoppers = try await count("SELECT count(*) FROM shoppers", on: connections[0])
            XCTAssertEqual(events, distinct)
            XCTAssertEqual(shoppers, 13)
        }
    }

    /// The same batches through both stores give the same answers.
    func testEveryBatchGetsTheAnswerTheSQLiteStoreGives() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-pg-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqlite = try CuratorStore(path: folder.appendingPathComponent("s.sqlite").path,
                                      secret: .external(try PseudonymSecret(bytes: [UInt8](repeating: 7, count: 32), origin: "test")))
        _ = try sqlite.upsertProducts((1...5).map { Product(id: "P\($0)", title: "Product \($0)") })
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            try await addProducts((1...5).map { "P\($0)" }, on: connections[0])
            let batches: [[Event]] = [
                [event("a", "P1", at: 5), event(" a ", "P1", at: 5), event("b", "P2", .cart, at: 6, quantity: 1)],
                [event("a", "P1", at: 5), event("c", "P9", at: 1)],
                [event("b", "P2", .cart, at: 6, quantity: 1), event("b", "P2", .cart, at: 6, quantity: 2),
                 event("b", "P3", .purchase, at: 7, price: "1.50"), event("b", "P3", .purchase, at: 7)],
            ]
            for (number, batch) in batches.enumerated() {
                let expected = try sqlite.appendEvents(batch)
                let got = try await PostgresEvents.append(batch, pseudonymizer: pseudonymizer, on: connections[0], logger: logger)
                XCTAssertEqual(got, expected, "batch \(number)")
            }
        }
    }
}
