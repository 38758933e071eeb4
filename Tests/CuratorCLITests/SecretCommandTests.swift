import Foundation
import Storage
import TestSupport
import XCTest

/// Moving a store's pseudonym secret out with `curator secret export` / `remove`, and giving it
/// back with `--pseudonym-secret-file` or the environment, as an operator would.
final class SecretCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary.path) else {
            throw SetupFailure("curator binary not found at \(CLI.binary.path)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(arguments, in: folder, environment: environment)
    }

    func testMovedOutSecretKeepsPseudonymsAndWrongOrMissingSecretIsRefused() throws {
        XCTAssertEqual(try run(["sample", "--out", "shop", "--products", "40", "--shoppers", "10", "--seed", "2"]).status, 0)
        XCTAssertEqual(try run(["import", "products", "--store", "s.sqlite", "shop/products.csv"]).status, 0)
        XCTAssertEqual(try run(["import", "events", "--store", "s.sqlite", "shop/events.csv"]).status, 0)

        let export = try run(["secret", "export", "--store", "s.sqlite", "--out", "secret.hex"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let secretPath = folder.appendingPathComponent("secret.hex").path
        let mode = try FileManager.default.attributesOfItem(atPath: secretPath)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "only the owner may read the secret")
        let again = try run(["secret", "export", "--store", "s.sqlite", "--out", "secret.hex"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("never overwritten"), again.stderr)

        let refusedRemove = try run(["secret", "remove", "--store", "s.sqlite"])
        XCTAssertEqual(refusedRemove.status, 1, "without the exported file the store would become unusable")
        let remove = try run(["secret", "remove", "--store", "s.sqlite", "--pseudonym-secret-file", "secret.hex"])
        XCTAssertEqual(remove.status, 0, remove.stderr)

        let missing = try run(["stats", "--store", "s.sqlite"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("keeps its pseudonym secret outside the database"), missing.stderr)
        let wrong = try run(["stats", "--store", "s.sqlite"], environment: [PseudonymSecret.hexVariable: String(repeating: "c3", count: 32)])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("is not the one this store's pseudonyms were made with"), wrong.stderr)

        // Same pseudonyms: importing the same events again, with the secret from outside, adds no
        // event and no shopper.
        let secretHex = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for environment in [[PseudonymSecret.fileVariable: secretPath], [PseudonymSecret.hexVariable: secretHex]] {
            let reimport = try run(["import", "events", "--json", "--store", "s.sqlite", "shop/events.csv"], environment: environment)
            XCTAssertEqual(reimport.status, 0, reimport.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(reimport.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(report?["inserted"] as? Int, 0, reimport.stdout)
            XCTAssertEqual(report?["new_shoppers"] as? Int, 0, reimport.stdout)
        }
    }

    /// A server given the wrong secret does not start, and the test helper fails with what the
    /// server wrote to stderr rather than skipping.
    func testServeRefusesAWrongSecretAndSaysWhy() throws {
        let created = try run(["import", "products", "--store", "s.sqlite", try write("p.csv", "product_id,title\nP1,Tea\n")],
                              environment: [PseudonymSecret.hexVariable: String(repeating: "a5", count: 32)])
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertThrowsError(try RunningServer(folder: folder, store: "s.sqlite",
                                               environment: [PseudonymSecret.hexVariable: String(repeating: "5a", count: 32)])) { error in
            XCTAssertTrue(error is SetupFailure, "\(error)")
            XCTAssertTrue("\(error)".contains("is not the one this store's pseudonyms were made with"), "\(error)")
        }
    }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }
}
