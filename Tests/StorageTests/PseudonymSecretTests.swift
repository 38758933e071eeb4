import Foundation
import GRDB
import SQLiteStorage
import Storage
import StoreTestSupport
import XCTest

/// The pseudonym secret kept in the store (the default) or outside it (a file or an environment
/// variable): the same secret gives the same pseudonyms wherever it is kept, a wrong one is
/// refused, and a store made with an outside secret never holds it.
final class PseudonymSecretTests: XCTestCase {
    let events = """
        user_id,product_id,event,timestamp
        u1,P1,view,2024-01-01T10:00:00Z
        u1,P2,purchase,2024-01-01T10:05:00Z
        u2,P3,cart,2024-01-02T09:00:00Z

        """

    func filled(_ tmp: TemporaryFolder, _ name: String, secret: PseudonymSecretSource) throws -> CuratorStore {
        let store = try CuratorStore(path: tmp.path(name), secret: secret)
        try store.importProducts(from: try tmp.write("products.csv", catalogue))
        try store.importEvents(from: try tmp.write("events.csv", events))
        return store
    }

    /// The database file and its write-ahead log, as someone copying them would get them.
    func fileBytes(_ tmp: TemporaryFolder, _ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: tmp.path(name)))
            + ((try? Data(contentsOf: URL(fileURLWithPath: tmp.path(name + "-wal")))) ?? Data())
    }

    func testSecretFromFileOrEnvironmentGivesTheStoresOwnPseudonyms() throws {
        let tmp = try TemporaryFolder()
        let own = try filled(tmp, "own.sqlite", secret: .store)
        XCTAssertEqual(try own.pseudonymSecretLocation(), .store)
        let hex = try own.storedPseudonymSecret().hex
        XCTAssertEqual(hex.count, 64)

        let file = try PseudonymSecret(contentsOfFile: try tmp.write("secret.hex", hex.uppercased() + "\n"))
        let fromFile = try filled(tmp, "file.sqlite", secret: .external(file))
        let env = try XCTUnwrap(PseudonymSecret.fromEnvironment([PseudonymSecret.hexVariable: hex]))
        let fromEnvironment = try filled(tmp, "env.sqlite", secret: .external(env))
        let viaFileVariable = try XCTUnwrap(PseudonymSecret.fromEnvironment([PseudonymSecret.fileVariable: tmp.path("secret.hex")]))
        for id in ["u1", "u2", "never-seen"] {
            XCTAssertEqual(fromFile.shopperKey(for: id), own.shopperKey(for: id))
            XCTAssertEqual(fromEnvironment.shopperKey(for: id), own.shopperKey(for: id))
            XCTAssertEqual(ShopperPseudonymizer(secret: viaFileVariable).pseudonym(for: id), own.shopperKey(for: id))
        }
        XCTAssertEqual(try fromFile.events(forShopID: "u1").count, 2)
        XCTAssertEqual(fromFile.pseudonymSecretFingerprint, own.pseudonymSecretFingerprint)
    }

    func testRawSecretFileIsItsExactBytes() throws {
        let tmp = try TemporaryFolder()
        let raw = (0..<40).map { UInt8(($0 * 37 + 11) % 256) }
        let secret = try PseudonymSecret(contentsOfFile: try tmp.write("secret.bin", bytes: raw))
        XCTAssertEqual(ShopperPseudonymizer(secret: secret).pseudonym(for: "u1"), ShopperPseudonymizer(secret: raw).pseudonym(for: "u1"))
    }

    func testUnusableSecretsAreRefusedWithWhy() throws {
        let tmp = try TemporaryFolder()
        XCTAssertThrowsError(try PseudonymSecret.fromEnvironment([PseudonymSecret.hexVariable: String(repeating: "ab", count: 31)])) {
            XCTAssertEqual($0 as? PseudonymSecretError, .tooShort(origin: PseudonymSecret.hexVariable, bytes: 31))
        }
        XCTAssertThrowsError(try PseudonymSecret.fromEnvironment([PseudonymSecret.hexVariable: String(repeating: "zz", count: 32)])) {
            XCTAssertEqual($0 as? PseudonymSecretError, .notHex(origin: PseudonymSecret.hexVariable))
        }
        XCTAssertThrowsError(try PseudonymSecret.fromEnvironment([
            PseudonymSecret.hexVariable: String(repeating: "ab", count: 32), PseudonymSecret.fileVariable: tmp.path("secret"),
        ])) { XCTAssertEqual($0 as? PseudonymSecretError, .bothGiven) }
        XCTAssertThrowsError(try PseudonymSecret.fromEnvironment([PseudonymSecret.fileVariable: tmp.path("absent")])) {
            guard case .unreadable? = $0 as? PseudonymSecretError else { return XCTFail("\($0)") }
        }
        // Hex digits that are too few are a short hex secret, not 41 raw bytes.
        XCTAssertThrowsError(try PseudonymSecret(contentsOfFile: try tmp.write("short.hex", String(repeating: "a1", count: 20) + "\n"))) {
            guard case .tooShort(_, 20)? = $0 as? PseudonymSecretError else { return XCTFail("\($0)") }
        }
        XCTAssertNil(try PseudonymSecret.fromEnvironment([:]))
    }

    func testWrongSecretIsRefusedInsteadOfMakingNewPseudonyms() throws {
        let tmp = try TemporaryFolder()
        let right = PseudonymSecret.generate(), wrong = PseudonymSecret.generate()
        _ = try filled(tmp, "outside.sqlite", secret: .external(right))
        XCTAssertThrowsError(try CuratorStore(path: tmp.path("outside.sqlite"), secret: .external(wrong))) { error in
            XCTAssertEqual(error as? PseudonymSecretError, .mismatch(store: tmp.path("outside.sqlite"), origin: "generated"))
            XCTAssertTrue("\(error)".contains("is not the one this store's pseudonyms were made with"), "\(error)")
        }
        XCTAssertThrowsError(try CuratorStore(path: tmp.path("outside.sqlite"), secret: .store)) {
            XCTAssertEqual($0 as? PseudonymSecretError, .keptOutside(store: tmp.path("outside.sqlite")))
        }
        XCTAssertEqual(try CuratorStore(path: tmp.path("outside.sqlite"), secret: .external(right)).events(forShopID: "u1").count, 2)

        // A store holding its own secret refuses another one given from outside.
        _ = try filled(tmp, "inside.sqlite", secret: .store)
        XCTAssertThrowsError(try CuratorStore(path: tmp.path("inside.sqlite"), secret: .external(wrong))) {
            XCTAssertEqual($0 as? PseudonymSecretError, .mismatch(store: tmp.path("inside.sqlite"), origin: "generated"))
        }
    }

    func testStoreMadeWithOutsideSecretHoldsOnlyItsFingerprint() throws {
        let tmp = try TemporaryFolder()
        let secret = try PseudonymSecret(hex: String(repeating: "5a", count: 32), origin: "test")
        let store = try filled(tmp, "s.sqlite", secret: .external(secret))
        XCTAssertEqual(try store.pseudonymSecretLocation(), .outside)
        let meta = try DatabaseQueue(path: tmp.path("s.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT key, value FROM store_meta").map { row -> (String, Data) in (row[0], row[1]) }
        }
        let values = Dictionary(meta, uniquingKeysWith: { first, _ in first })
        XCTAssertNil(values["shopper_secret"])
        XCTAssertEqual(values["shopper_secret_fingerprint"], Data(secret.fingerprint.utf8))
        for (key, value) in meta {
            XCTAssertNil(value.range(of: Data(repeating: 0x5a, count: 32)), "\(key) holds the secret")
            XCTAssertNil(value.range(of: Data(secret.hex.utf8)), "\(key) holds the secret in hex")
        }
        XCTAssertNotEqual(secret.fingerprint, secret.hex)
        XCTAssertNil(try fileBytes(tmp, "s.sqlite").range(of: Data(repeating: 0x5a, count: 32)), "the secret never reaches the file")
        XCTAssertThrowsError(try store.storedPseudonymSecret()) {
            XCTAssertEqual($0 as? PseudonymSecretError, .notInStore(store: tmp.path("s.sqlite")))
        }
    }

    /// `curator secret export` then `curator secret remove`: the store keeps its pseudonyms and
    /// the secret's bytes leave the file, free pages and write-ahead log included.
    func testMovingTheSecretOutKeepsPseudonymsAndLeavesNoCopy() throws {
        let tmp = try TemporaryFolder()
        let own = try filled(tmp, "s.sqlite", secret: .store)
        let key = own.shopperKey(for: "u1")
        let secret = try own.storedPseudonymSecret()
        let secretBytes = Data(try XCTUnwrap(Data(hexDigits: secret.hex)))
        XCTAssertNotNil(try fileBytes(tmp, "s.sqlite").range(of: secretBytes))

        XCTAssertThrowsError(try own.removeStoredPseudonymSecret()) {
            XCTAssertEqual($0 as? PseudonymSecretError, .removeNeedsExternal(store: tmp.path("s.sqlite")))
        }
        let file = try PseudonymSecret(contentsOfFile: try tmp.write("secret.hex", secret.hex))
        let moving = try CuratorStore(path: tmp.path("s.sqlite"), secret: .external(file))
        try moving.removeStoredPseudonymSecret()
        XCTAssertEqual(try moving.pseudonymSecretLocation(), .outside)
        XCTAssertNil(try fileBytes(tmp, "s.sqlite").range(of: secretBytes), "no copy left in the file or its log")

        XCTAssertThrowsError(try CuratorStore(path: tmp.path("s.sqlite"), secret: .store))
        let reopened = try CuratorStore(path: tmp.path("s.sqlite"), secret: .external(file))
        XCTAssertEqual(reopened.shopperKey(for: "u1"), key)
        XCTAssertEqual(try reopened.events(forShopID: "u1").count, 2)
    }

    /// The rules above, on both stores (`eachStore`): a store's own secret survives reopening, an
    /// outside secret leaves only its fingerprint, a wrong one is refused, and moving the secret
    /// out keeps every pseudonym.
    func testBothStoresKeepTheSameSecretRules() async throws {
        let tmp = try TemporaryFolder()
        let products = try tmp.write("products.csv", catalogue)
        let eventsFile = try tmp.write("events.csv", events)
        try await eachStore(secret: .store) { test in
            let own = test.store
            _ = try await own.importProducts(from: products)
            _ = try await own.importEvents(from: eventsFile)
            let key = own.shopperKey(for: "u1")
            let location = try await own.pseudonymSecretLocation()
            XCTAssertEqual(location, .store, "\(test.backend)")
            let secret = try await own.storedPseudonymSecret()
            let again = try await test.reopen(.store)
            XCTAssertEqual(again.shopperKey(for: "u1"), key, "\(test.backend): the same secret after reopening")
            do {
                _ = try await test.reopen(.external(PseudonymSecret.generate()))
                XCTFail("\(test.backend): a wrong secret was taken")
            } catch {
                XCTAssertEqual(error as? PseudonymSecretError, .mismatch(store: own.name, origin: "generated"), "\(test.backend)")
            }
            do {
                try await own.removeStoredPseudonymSecret()
                XCTFail("\(test.backend): removed without the secret given from outside")
            } catch {
                XCTAssertEqual(error as? PseudonymSecretError, .removeNeedsExternal(store: own.name))
            }
            let moving = try await test.reopen(.external(secret))
            try await moving.removeStoredPseudonymSecret()
            let after = try await moving.pseudonymSecretLocation()
            XCTAssertEqual(after, .outside, "\(test.backend)")
            do {
                _ = try await test.reopen(.store)
                XCTFail("\(test.backend): opened without its secret")
            } catch {
                XCTAssertEqual(error as? PseudonymSecretError, .keptOutside(store: own.name), "\(test.backend)")
            }
            let reopened = try await test.reopen(.external(secret))
            XCTAssertEqual(reopened.shopperKey(for: "u1"), key)
            let history = try await reopened.events(forShopID: "u1")
            XCTAssertEqual(history.count, 2, "\(test.backend)")
        }
    }
}

extension Data {
    init?(hexDigits: String) {
        var bytes: [UInt8] = []
        var digits = hexDigits.makeIterator()
        while let high = digits.next() {
            guard let low = digits.next(), let byte = UInt8(String([high, low]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes)
    }
}
