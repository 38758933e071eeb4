import Storage
import XCTest

/// Known outputs of the pseudonyms and text hashes, computed by the hand-written SHA-256/HMAC
/// Curator used before swift-crypto (and checked against Python's `hmac`/`hashlib`). Stores made
/// by older builds hold these values, so a change here would orphan every stored shopper and
/// every cached embedding.
final class HashVectorsTests: XCTestCase {
    /// The 32 bytes 0x00, 0x01, …, 0x1f.
    static let secret = (0..<32).map { UInt8($0) }

    func testPseudonymsAreUnchanged() {
        let pseudonymizer = ShopperPseudonymizer(secret: Self.secret)
        XCTAssertEqual(pseudonymizer.pseudonym(for: "S00001"), "82d85bbfe5ff72c43d19e9737c2b46a6")
        XCTAssertEqual(pseudonymizer.pseudonym(for: "shopper@example.com"), "21a51db35713a1358b694cbe92f7455a")
        XCTAssertEqual(pseudonymizer.pseudonym(for: "顾客-42"), "4e9962ffafd3ee0dddd30ef708a42243")
        XCTAssertEqual(pseudonymizer.pseudonym(for: ""), "d38b42096d80f45f826b44a9d5607de7")
    }

    /// A key longer than SHA-256's 64-byte block is hashed first (RFC 2104); a raw secret file may be that long.
    func testPseudonymUnderLongSecretIsUnchanged() {
        let long = (0..<100).map { UInt8(($0 * 7) % 256) }
        XCTAssertEqual(ShopperPseudonymizer(secret: long).pseudonym(for: "S00001"), "237112d232c33115ce0d159abe62fb1d")
    }

    func testTextHashesAreUnchanged() {
        XCTAssertEqual(StoreDigest.text("Trail Hiking Backpack 30L"), "44925113e26549ae42b0f0ca2a02feb0")
        XCTAssertEqual(StoreDigest.text("防晒霜 SPF50 清爽型"), "9dc030be4b53abee02a2ad01f87c1fc6")
        XCTAssertEqual(StoreDigest.text(""), "e3b0c44298fc1c149afbf4c8996fb924")
    }
}
