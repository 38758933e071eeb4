import CuratorCore
import XCTest

final class CoreTests: XCTestCase {
    func testEventTypeCodesRoundTrip() {
        for type in EventType.allCases { XCTAssertEqual(EventType(code: type.code), type) }
        XCTAssertLessThan(EventType.view.weight, EventType.purchase.weight)
    }

    func testInteractionLogKeepsEachHistoryContiguousAndInOrder() {
        let log = InteractionLog(shopperKeys: ["a", "b"], productKeys: ["x", "y"], interactions: [
            .init(shopper: 1, product: 0, type: .view, timestampMillis: 5, eventID: 1),
            .init(shopper: 0, product: 1, type: .view, timestampMillis: 9, eventID: 2),
            .init(shopper: 0, product: 0, type: .cart, timestampMillis: 3, eventID: 3),
        ])
        XCTAssertEqual(log.interactions.map(\.eventID), [3, 2, 1])
        XCTAssertEqual(log.historyRanges(), [0..<2, 2..<3])
    }

    func testSeededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
    }
}
