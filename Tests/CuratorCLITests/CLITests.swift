import ChildProcesses
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// Runs `curator` from the build folder, the way a user does.
struct CLI {
    static var binary: URL {
        // The test bundle sits beside the products in .build/<config>/.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("curator").path) && url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.appendingPathComponent("curator")
    }

    typealias Result = ChildProcess.Result

    /// `curator ARGUMENTS` in `folder`; settings that name a store or its secret come from the
    /// test, never from the caller's shell.
    static func command(_ arguments: [String], in folder: URL, environment extra: [String: String] = [:]) -> ChildProcess {
        var environment = ChildProcess.environment(["CURATOR_STORE": nil, PseudonymSecret.fileVariable: nil, PseudonymSecret.hexVariable: nil])
        environment.merge(extra) { $1 }
        return ChildProcess(binary, arguments, directory: folder, environment: environment)
    }

    static func start(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> ChildProcess.Running {
        try command(arguments, in: folder, environment: environment).start()
    }

    @discardableResult
    static func run(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> Result {
        try command(arguments, in: folder, environment: environment).run()
    }
}

final class CLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The test target depends on `curator`, so a missing binary is a broken build, not a skip.
        guard FileManager.default.isExecutableFile(atPath: CLI.binary.path) else {
            throw SetupFailure("curator binary not found at \(CLI.binary.path)")
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    func testSampleImportAndStatsJSON() throws {
        let sample = try CLI.run(["sample", "--out", "shop", "--products", "120", "--shoppers", "40", "--seed", "3"], in: folder)
        XCTAssertEqual(sample.status, 0, sample.stderr)
        XCTAssertEqual(try CLI.run(["import", "products", "shop/products.csv"], in: folder).status, 0)
        let events = try CLI.run(["import", "events", "shop/events.csv"], in: folder)
        XCTAssertEqual(events.status, 0, events.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("curator.sqlite").path), "default store in the current folder")
        let stats = try CLI.run(["stats", "--json"], in: folder)
        XCTAssertEqual(stats.status, 0)
        let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["shoppers"] as? Int, 40)
        XCTAssertEqual(object?["products"] as? Int, 120)
        XCTAssertGreaterThan(object?["events"] as? Int ?? 0, 40 * 4)
        // The same seed writes the same shop; Chinese titles with --lang zh.
        try CLI.run(["sample", "--out", "again", "--products", "120", "--shoppers", "40", "--seed", "3"], in: folder)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("shop/events.csv")),
                       try Data(contentsOf: folder.appendingPathComponent("again/events.csv")))
        try CLI.run(["sample", "--out", "zh", "--lang", "zh", "--products", "12", "--shoppers", "3"], in: folder)
        let zh = try String(contentsOf: folder.appendingPathComponent("zh/products.csv"), encoding: .utf8)
        XCTAssertTrue(zh.contains("户外用品"), zh)
    }

    func testRejectedRowsExitTwoAndWholeFileErrorsExitOne() throws {
        let products = try write("p.csv", "product_id,title\nA,Alpha\nB,Beta\n")
        XCTAssertEqual(try CLI.run(["import", "products", "--store", "s.sqlite", products], in: folder).status, 0)
        let events = try write("e.csv", "user_id,product_id,event,timestamp\nu,A,view,2024-01-01T00:00:00Z\nu,Z,view,2024-01-01T00:00:00Z\n")
        let partial = try CLI.run(["import", "events", "--store", "s.sqlite", events], in: folder)
        XCTAssertEqual(partial.status, 2)
        XCTAssertTrue(partial.stderr.contains("1 row was rejected"), partial.stderr)
        XCTAssertTrue(partial.stderr.contains("e.csv.rejects.csv"), partial.stderr)
        let missing = try write("m.csv", "user_id,product_id\nu,A\n")
        let refused = try CLI.run(["import", "events", "--store", "s.sqlite", missing], in: folder)
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, "one clear error line: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("m.csv") && refused.stderr.contains("'event'"), refused.stderr)
    }

    func testRulesCommandStoresListsAndDeletesRules() throws {
        let products = try write("p.csv", "product_id,title,brand\nA,Alpha,Peak\nB,Beta,Ember\n")
        XCTAssertEqual(try CLI.run(["import", "products", "--store", "s.sqlite", products], in: folder).status, 0)
        let put = try CLI.run(["rules", "put", "--store", "s.sqlite", "618-boost",
                               #"{"kind": "boost", "brand": "Peak", "weight": 0.4, "starts_at": "2026-06-01T00:00:00+08:00", "ends_at": "2026-06-19T00:00:00+08:00"}"#],
                              in: folder)
        XCTAssertEqual(put.status, 0, put.stderr)
        XCTAssertTrue(put.stdout.hasPrefix("stored 618-boost  boost  brand Peak  weight 0.4  on every list  from 2026-05-31T16:00:00Z"), put.stdout)
        let bad = try CLI.run(["rules", "put", "--store", "s.sqlite", "r2", #"{"kind": "pin", "product_id": "A", "position": 200}"#], in: folder)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("field 'position'"), bad.stderr)
        let list = try CLI.run(["rules", "list", "--store", "s.sqlite", "--json"], in: folder)
        XCTAssertEqual(list.status, 0, list.stderr)
        let rules = (try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["rules"] as? [[String: Any]]
        XCTAssertEqual(rules?.map { $0["name"] as? String }, ["618-boost"], list.stdout)
        XCTAssertEqual(try CLI.run(["rules", "delete", "--store", "s.sqlite", "618-boost"], in: folder).status, 0)
        let again = try CLI.run(["rules", "delete", "--store", "s.sqlite", "618-boost"], in: folder)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("no rule named '618-boost'"), again.stderr)
    }

    /// SIGKILL in the middle of a large import leaves the store exactly as it was before.
    func testKilledImportLeavesStoreUnchanged() throws {
        var products = "product_id,title\n"
        for i in 0..<200 { products += "P\(i),Product \(i)\n" }
        _ = try write("p.csv", products)
        XCTAssertEqual(try CLI.run(["import", "products", "--store", "s.sqlite", "p.csv"], in: folder).status, 0)
        _ = try write("first.csv", "user_id,product_id,event,timestamp\nu1,P1,view,2024-01-01T00:00:00Z\n")
        XCTAssertEqual(try CLI.run(["import", "events", "--store", "s.sqlite", "first.csv"], in: folder).status, 0)

        // About 3 million rows: several seconds of work, so the kill lands mid-import.
        let path = folder.appendingPathComponent("big.csv").path
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data("user_id,product_id,event,timestamp\n".utf8))
        var chunk = ""
        for i in 0..<3_000_000 {
            // Every row distinct: the time is epoch milliseconds counting up.
            chunk += "shopper\(i % 50_000),P\(i % 200),view,\(1_706_745_600_000 + i)\n"
            if i % 100_000 == 99_999 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.close()
        let statsBefore = try CLI.run(["stats", "--json", "--store", "s.sqlite"], in: folder).stdout

        let child = try CLI.start(["import", "events", "--store", "s.sqlite", "big.csv"], in: folder)
        let process = child.process
        // Wait until the import is writing (the WAL grows), then kill it.
        let wal = folder.appendingPathComponent("s.sqlite-wal").path
        let deadline = Date().addingTimeInterval(30)
        var walSize = 0
        while Date() < deadline && process.isRunning {
            walSize = ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0
            if walSize > 8_000_000 { break }
            usleep(20_000)
        }
        XCTAssertTrue(process.isRunning, "the import finished before it could be killed; make the file bigger")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThan(walSize, 8_000_000, "the kill happened while rows were being written")

        let statsAfter = try CLI.run(["stats", "--json", "--store", "s.sqlite"], in: folder).stdout
        XCTAssertEqual(statsAfter, statsBefore)
        let store = try CuratorStore(path: folder.appendingPathComponent("s.sqlite").path)
        XCTAssertEqual(try store.statistics().events, 1)
    }
}
