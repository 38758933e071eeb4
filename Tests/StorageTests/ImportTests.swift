import ChildProcesses
import CuratorCore
import Foundation
import SQLiteStorage
import Storage
import StoreTestSupport
import XCTest

/// File imports, on both stores (`eachStore`) unless a test reads SQLite's own files.
final class ImportTests: XCTestCase {
    func testGoodFileImportsAndReimportChangesNothing() async throws {
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            let products = try tmp.write("products.csv", catalogue)
            let events = try tmp.write("events.csv", """
                user_id,product_id,event,timestamp,quantity,price
                u1,P1,view,2024-01-01T10:00:00Z,,
                u1,P2,purchase,2024-01-01T10:05:00Z,2,120
                u1,P2,purchase,2024-01-01T10:05:00Z,2,120
                u2,P3,cart,2024-01-02T09:00:00+02:00,1,35.50

                """)
            let p = try await store.importProducts(from: products)
            XCTAssertEqual(p.inserted, 3, "\(test.backend)")
            let e = try await store.importEvents(from: events)
            XCTAssertEqual(e.rows, 4)
            XCTAssertEqual(e.inserted, 3)
            XCTAssertEqual(e.unchanged, 1, "\(test.backend): an identical line counts once")
            XCTAssertEqual(e.rejected, 0)
            XCTAssertEqual(e.newShoppers, 2)
            XCTAssertNil(e.rejectsFile)
            let again = try await store.importEvents(from: events)
            XCTAssertEqual(again.inserted, 0)
            XCTAssertEqual(again.newShoppers, 0)
            let p2 = try await store.importProducts(from: products)
            XCTAssertEqual(p2.unchanged, 3, "\(test.backend)")
            let stats = try await store.statistics()
            XCTAssertEqual([stats.shoppers, stats.products, stats.events], [2, 3, 3])
            XCTAssertEqual(stats.eventsByType["purchase"], 1)
            let u2 = try await store.events(forShopID: "u2")
            XCTAssertEqual(u2.count, 1)
            XCTAssertEqual(u2[0].timestampMillis, 1_704_178_800_000, "09:00+02:00 is 07:00Z")
            XCTAssertEqual(u2[0].price, "35.50")
            XCTAssertEqual(u2[0].quantity, 1)
        }
    }

    func testBadRowsGoToRejectsFileWithLineAndReason() async throws {
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            _ = try await store.importProducts(from: try tmp.write("products.csv", catalogue))
            let events = try tmp.write("events.csv", """
                user_id,product_id,event,timestamp,quantity,price
                u1,P1,view,2024-01-01T10:00:00Z,,
                u1,P1,teleport,2024-01-01T10:00:00Z,,
                u1,P1,view,yesterday,,
                u1,P1,purchase,2024-01-01T11:00:00Z,1,£3
                u1,NOPE,view,2024-01-01T10:00:00Z,,
                u1,"P2,view,2024-01-01T10:00:00Z,,
                """)
            let report = try await store.importEvents(from: events)
            XCTAssertEqual(report.inserted, 1)
            XCTAssertEqual(report.rejected, 5)
            XCTAssertEqual(report.rows, 6, "each row counted once, rejected or not")
            XCTAssertEqual(report.rejectsFile, events + ".rejects.csv")
            let rejects = try String(contentsOfFile: events + ".rejects.csv", encoding: .utf8)
            let lines = rejects.split(separator: "\n")
            XCTAssertEqual(lines.first, "line,reason,record")
            XCTAssertTrue(lines[1].hasPrefix("3,") && lines[1].contains("unknown event type 'teleport'"), String(lines[1]))
            XCTAssertTrue(lines[2].hasPrefix("4,") && lines[2].contains("field 'timestamp'"), String(lines[2]))
            XCTAssertTrue(lines[3].hasPrefix("5,") && lines[3].contains("field 'price'"), String(lines[3]))
            XCTAssertTrue(lines[4].hasPrefix("6,") && lines[4].contains("unknown product 'NOPE'"), String(lines[4]))
            XCTAssertTrue(lines[5].hasPrefix("7,") && lines[5].contains("malformed CSV"), String(lines[5]))
            XCTAssertTrue(lines[1].contains("u1,P1,teleport"), "the record itself is kept")
            // A clean re-import removes the stale rejects file.
            let clean = try tmp.write("events.csv", "user_id,product_id,event,timestamp\nu1,P1,view,2024-01-01T10:00:00Z\n")
            let cleanReport = try await store.importEvents(from: clean)
            XCTAssertNil(cleanReport.rejectsFile, "\(test.backend)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: clean + ".rejects.csv"))
        }
    }

    func testWrongFieldCountIsMalformed() async throws {
        try await eachStore { test in
            let tmp = try TemporaryFolder()
            let products = try tmp.write("p.csv", "product_id,title\nA,One\nB,Two,extra\n\"C\",\"Three, with comma\"\"s\"\n")
            let report = try await test.store.importProducts(from: products)
            XCTAssertEqual(report.inserted, 2, "\(test.backend)")
            XCTAssertEqual(report.rejected, 1)
            XCTAssertEqual(report.rows, 3)
            let rejects = try String(contentsOfFile: products + ".rejects.csv", encoding: .utf8)
            XCTAssertTrue(rejects.contains("3,malformed CSV: 3 fields where the header has 2"), rejects)
            let three = try await test.store.product(id: "C")
            XCTAssertEqual(three?.title, "Three, with comma\"s")
        }
    }

    func testWholeFileProblemsWriteNothing() async throws {
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            _ = try await store.importProducts(from: try tmp.write("products.csv", catalogue))
            let before = try await store.statistics()
            let cases: [(String, [UInt8], String)] = [
                ("missing.csv", Array("user_id,product_id,timestamp\nu1,P1,2024-01-01T10:00:00Z\n".utf8), "missing required column 'event'"),
                ("empty.csv", [], "the file is empty"),
                ("binary.csv", [0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x14, 0x00], "binary file"),
                ("latin1.csv", Array("user_id,product_id,event,timestamp\nu1,P1,view,2024-01-01T10:00:00Z\n".utf8) + Array("caf".utf8) + [0xe9] + Array(",P1,view,2024-01-01T10:00:00Z\n".utf8), "not valid UTF-8"),
            ]
            for (name, bytes, expected) in cases {
                let path = try tmp.write(name, bytes: bytes)
                do {
                    _ = try await store.importEvents(from: path)
                    XCTFail("\(test.backend) \(name): imported")
                } catch {
                    guard case CuratorError.invalidInput(let file, let reason) = error else { XCTFail("\(error)"); continue }
                    XCTAssertEqual(file, path)
                    XCTAssertTrue(reason.contains(expected), "\(test.backend) \(name): \(reason)")
                }
                XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".rejects.csv"), name)
            }
            let after = try await store.statistics()
            XCTAssertEqual(after, before, "\(test.backend): nothing written")
            do {
                _ = try await store.importEvents(from: tmp.path("does-not-exist.csv"))
                XCTFail("\(test.backend): a missing file imported")
            } catch {}
        }
    }

    func testGzipAndJSONLines() async throws {
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            let products = try tmp.write("products.jsonl", """
                {"product_id": "P1", "title": "Backpack", "price": 59.9}
                {"product_id": 2, "title": "Boots &amp; <b>socks</b>", "price": "12.00"}
                not json
                """)
            let p = try await store.importProducts(from: products)
            XCTAssertEqual(p.inserted, 2, "\(test.backend)")
            XCTAssertEqual(p.rejected, 1)
            let csv = try tmp.write("events.csv", "user_id,product_id,event,timestamp\nu1,P1,view,2024-01-01T10:00:00Z\nu1,2,cart,2024-01-01T10:01:00Z\n")
            try ChildProcess(URL(fileURLWithPath: "/bin/gzip"), ["-f", csv]).runChecked()
            let e = try await store.importEvents(from: csv + ".gz")
            XCTAssertEqual(e.inserted, 2)
            let product = try await XCTUnwrapAsync(try await store.product(id: "2"))
            XCTAssertEqual(product.title, "Boots & socks")
            XCTAssertEqual(product.price, "12.00")
        }
    }

    func testMissingColumnsKeepStoredFieldsOnUpdate() async throws {
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            _ = try await store.importProducts(from: try tmp.write("products.csv", catalogue))
            let report = try await store.importProducts(from: try tmp.write("prices.csv", "product_id,price\nP1,49.90\nP2,\n"))
            XCTAssertEqual(report.updated, 2, "\(test.backend)")
            let p1 = try await XCTUnwrapAsync(try await store.product(id: "P1"))
            XCTAssertEqual(p1.title, "Trail Hiking Backpack 30L")
            XCTAssertEqual(p1.price, "49.90")
            let p2 = try await store.product(id: "P2")
            XCTAssertNil(p2?.price, "\(test.backend): an empty price clears it")
            // The same product twice in one file: the later row applies on top of the earlier one.
            let twice = try await store.importProducts(from: try tmp.write("twice.csv", "product_id,title,brand\nP9,Nine,A\nP9,,B\nP1,Trail Hiking Backpack 30L,\n"))
            XCTAssertEqual([twice.inserted, twice.updated, twice.unchanged], [1, 2, 0], "\(test.backend): P9 made, then changed; P1 loses its brand")
            let nine = try await store.product(id: "P9")
            XCTAssertEqual(nine?.title, "")
            XCTAssertEqual(nine?.brand, "B")
        }
    }

    func testShoppersAreStoredOnlyAsPseudonyms() throws {
        let tmp = try TemporaryFolder()
        let store = try tmp.store()
        try store.importProducts(from: try tmp.write("products.csv", catalogue))
        try store.importEvents(from: try tmp.write("e.csv", "user_id,product_id,event,timestamp\nalice@example.com,P1,view,2024-01-01T10:00:00Z\n"))
        let key = store.shopperKey(for: "alice@example.com")
        XCTAssertEqual(key.count, 32)
        XCTAssertEqual(key, store.shopperKey(for: " alice@example.com "))
        XCTAssertEqual(try store.shopperID(forShopID: "alice@example.com").map { _ in true }, true)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tmp.path("store.sqlite")))
            + ((try? Data(contentsOf: URL(fileURLWithPath: tmp.path("store.sqlite-wal")))) ?? Data())
        XCTAssertNil(bytes.range(of: Data("alice@example.com".utf8)), "the clear id never reaches disk")
        // Another store has another secret, so the same shopper gets another key there.
        let other = try CuratorStore(path: tmp.path("other.sqlite"))
        XCTAssertNotEqual(other.shopperKey(for: "alice@example.com"), key)
    }

    /// The shared datasets into both stores: the same counts, and the same statistics from each.
    func testSharedAmazonBeautyCounts() async throws {
        let data = try SharedData.dataset("amazon-beauty")
        var each: [StoreStatistics] = []
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            let products = try await store.importProducts(from: data.appendingPathComponent("products.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            let events = try await store.importEvents(from: data.appendingPathComponent("events.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            XCTAssertEqual(products.rejected + events.rejected, 0)
            var stats = try await store.statistics()
            XCTAssertEqual([stats.shoppers, stats.products, stats.events], [22_363, 12_101, 198_502], "\(test.backend)")
            let untitled = try await store.productCount(withEmptyTitle: true)
            XCTAssertEqual(untitled, 7)
            let again = try await store.importEvents(from: data.appendingPathComponent("events.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            XCTAssertEqual(again.inserted, 0)
            stats = try await store.statistics()
            XCTAssertEqual([stats.shoppers, stats.products, stats.events], [22_363, 12_101, 198_502])
            each.append(stats)
        }
        XCTAssertTrue(each.allSatisfy { $0 == each[0] }, "both stores give the same statistics: \(each)")
    }

    func testSharedOnlineRetailCounts() async throws {
        let data = try SharedData.dataset("online-retail")
        var each: [StoreStatistics] = []
        var fingerprints: [String] = []
        try await eachStore { test in
            let store = test.store
            let tmp = try TemporaryFolder()
            _ = try await store.importProducts(from: data.appendingPathComponent("products.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            let events = try await store.importEvents(from: data.appendingPathComponent("events.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            XCTAssertEqual(events.unchanged, 5_234, "\(test.backend): duplicate lines count once")
            let stats = try await store.statistics()
            XCTAssertEqual([stats.shoppers, stats.products, stats.events], [4_339, 3_665, 392_690], "\(test.backend)")
            _ = try await store.importProducts(from: data.appendingPathComponent("products.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            _ = try await store.importEvents(from: data.appendingPathComponent("events.csv").path, options: .init(rejectsPath: tmp.path("r.csv")))
            let after = try await store.statistics()
            XCTAssertEqual(after, stats)
            each.append(stats)
            // Same ids in both stores (no gaps from skipped duplicates), so the same event-id part of the fingerprint.
            let log = try await store.interactionLog()
            fingerprints.append("\(log.interactions.count)-\(log.interactions.map(\.eventID).max() ?? 0)")
        }
        XCTAssertTrue(each.allSatisfy { $0 == each[0] }, "both stores give the same statistics: \(each)")
        XCTAssertEqual(Set(fingerprints).count, 1, "\(fingerprints)")
    }
}
