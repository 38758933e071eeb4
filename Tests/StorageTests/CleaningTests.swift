import CuratorCore
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
}
