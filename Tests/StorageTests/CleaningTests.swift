import Storage
import XCTest

final class CleaningTests: XCTestCase {
    func testHTMLEntitiesWhitespaceAndNFC() {
        XCTAssertEqual(TextCleaning.clean("  <p>Great&nbsp;boots</p><br/>for   hiking &amp; camping &#39;24 &#x263A;  "),
                       "Great boots for hiking & camping '24 ☺")
        XCTAssertEqual(TextCleaning.clean("3 < 5 and 5 > 3"), "3 < 5 and 5 > 3", "a lone < is not a tag")
        XCTAssertEqual(TextCleaning.clean("Cafe\u{0301}\tcre\u{0300}me\n\nbru\u{0302}le\u{0301}e"), "Café crème brûlée")
        XCTAssertEqual(TextCleaning.clean("AT&T &unknown; done"), "AT&T &unknown; done")
    }

    func testContactDetailsAreMasked() {
        XCTAssertEqual(TextCleaning.clean("Questions? mail jane.doe+shop@example.co.uk today"), "Questions? mail [email] today")
        XCTAssertEqual(TextCleaning.clean("Call +44 20 7946 0958 or (555) 123-4567."), "Call [phone] or [phone].")
        XCTAssertEqual(TextCleaning.clean("Backpack 1000 ml, model B004756YJA, 2 x 500 g"), "Backpack 1000 ml, model B004756YJA, 2 x 500 g")
    }

    func testHMACSHA256MatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = HMACSHA256(key: Array("Jefe".utf8)).authenticationCode(for: Array("what do ya want for nothing?".utf8))
        XCTAssertEqual(mac.map { String(format: "%02x", $0) }.joined(),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(SHA256.hash(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined(),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // A message over one block.
        XCTAssertEqual(SHA256.hash(Array(repeating: UInt8(ascii: "a"), count: 1000)).map { String(format: "%02x", $0) }.joined(),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
