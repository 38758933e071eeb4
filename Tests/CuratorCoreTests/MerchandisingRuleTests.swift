import CuratorCore
import Foundation
import XCTest

/// A merchandising rule as sent and stored: its window at the edges, the surfaces it reaches,
/// and the JSON it is kept as.
final class MerchandisingRuleTests: XCTestCase {
    private func decode(_ json: String) throws -> MerchandisingRule {
        try JSONDecoder().decode(MerchandisingRule.self, from: Data(json.utf8))
    }

    func testTheWindowOpensAtItsStartAndClosesAtItsEnd() throws {
        let rule = try decode(#"{"kind": "block", "brand": "Peak", "starts_at": "2026-11-11T00:00:00+08:00", "ends_at": "2026-11-12T00:00:00+08:00"}"#)
        let start = try XCTUnwrap(Timestamps.parse("2026-11-10T16:00:00Z"))
        let end = try XCTUnwrap(Timestamps.parse("2026-11-11T16:00:00Z"))
        XCTAssertEqual(rule.startsAtMillis, start)
        XCTAssertEqual(rule.endsAtMillis, end)
        XCTAssertFalse(rule.isInForce(atMillis: start - 1))
        XCTAssertTrue(rule.isInForce(atMillis: start), "from its start, inclusive")
        XCTAssertTrue(rule.isInForce(atMillis: end - 1))
        XCTAssertFalse(rule.isInForce(atMillis: end), "until its end, exclusive")
        let open = try decode(#"{"kind": "block", "brand": "Peak", "ends_at": "2026-11-12T00:00:00+08:00"}"#)
        XCTAssertTrue(open.isInForce(atMillis: .min + 1), "no start: in force until the end")
        XCTAssertThrowsError(try decode(#"{"kind": "block", "brand": "Peak", "starts_at": "2026-11-12T00:00:00Z", "ends_at": "2026-11-12T00:00:00Z"}"#)) {
            XCTAssertEqual(($0 as? RuleError)?.field, "ends_at", "an empty window")
        }
    }

    func testSurfaces() throws {
        let everywhere = try decode(#"{"kind": "boost", "category": "Kitchen", "weight": 0.5}"#)
        XCTAssertTrue(everywhere.applies(to: .shopper) && everywhere.applies(to: .anonymous) && everywhere.applies(to: .similar))
        XCTAssertFalse(everywhere.applies(to: .search), "search takes only blocks, or rules that name it")
        XCTAssertTrue(try decode(#"{"kind": "block", "category": "Kitchen"}"#).applies(to: .search))
        let onSearch = try decode(#"{"kind": "pin", "product_id": "P1", "position": 1, "surface": "search"}"#)
        XCTAssertTrue(onSearch.applies(to: .search))
        XCTAssertFalse(onSearch.applies(to: .shopper))
    }

    func testStoredJSONReadsBackTheSameRule() throws {
        var rule = try decode(#"{"name": "双11-kitchen", "kind": "boost", "category": " Kitchen  > Coffee ", "weight": 0.25, "surface": "anonymous", "starts_at": "2026-11-11T00:00:00+08:00"}"#)
        rule.updatedAtMillis = 1_000
        try rule.check()
        XCTAssertEqual(rule.target, .category("Kitchen > Coffee"), "cleaned as product fields are")
        let back = try MerchandisingRule.fromStored(try rule.storedJSON(), updatedAtMillis: 1_000)
        XCTAssertEqual(back, rule)
        XCTAssertThrowsError(try MerchandisingRule.checkName("a/b"))
        XCTAssertThrowsError(try MerchandisingRule.checkName(String(repeating: "x", count: 65)))
        XCTAssertNoThrow(try MerchandisingRule.checkName("618-大促"))
    }
}
