import CuratorCore
import Recommenders
import XCTest

final class SplitTests: XCTestCase {
    func testLeaveOneOutHoldsOutLastTwoInTimeOrder() {
        // Shopper 0 has four events; the last two share time 30, so the event id decides.
        // Ids are 1-based in the order given and the log sorts by (time, id):
        // p0@10 (id 2), p1@20 (id 1), p3@30 (id 3), p2@30 (id 4).
        let log = makeLog(shoppers: 2, products: 4, [
            (0, 1, 20), (0, 0, 10), (0, 3, 30), (0, 2, 30),
            (1, 0, 5), (1, 1, 6), // two events only: all training
        ])
        let split = LeaveOneOutSplit().split(log)
        XCTAssertEqual(log.interactions.map(\.product), [0, 1, 3, 2, 0, 1])
        XCTAssertEqual(split.parts, [.train, .train, .validation, .test, .train, .train])
        XCTAssertEqual(split.count(of: .train), 4)
        XCTAssertEqual(split.train.map(\.eventID), [2, 1, 5, 6])

        let test = EvaluationSet(split: split, part: .test)
        XCTAssertEqual(test.shoppers, [0])
        XCTAssertEqual(Array(test.targets(at: 0)), [2])
        XCTAssertEqual(Array(test.histories[0].products), [0, 1, 3]) // train + validation
        let validation = EvaluationSet(split: split, part: .validation)
        XCTAssertEqual(Array(validation.targets(at: 0)), [3])
        XCTAssertEqual(Array(validation.histories[0].products), [0, 1])
        XCTAssertEqual(Array(split.trainingHistories[1].products), [0, 1])
    }

    func testAssignmentsRoundTripAndMissingEventIsAnError() throws {
        let log = makeLog(products: 3, histories: [[0, 1, 2], [2, 1, 0, 1]])
        let split = LeaveOneOutSplit().split(log)
        let restored = try DataSplit(log: log, assignments: split.assignments())
        XCTAssertEqual(restored.parts, split.parts)
        XCTAssertThrowsError(try DataSplit(log: log, assignments: Array(split.assignments().dropLast())))
    }

    func testRepeatTargetsAreCountedAndOptionallyDropped() {
        // Shopper 0 buys 1 again as the last event: a target that cannot be hit.
        let log = makeLog(products: 3, histories: [[1, 0, 2, 1], [0, 1, 2]])
        let split = LeaveOneOutSplit().split(log)
        let kept = EvaluationSet(split: split, part: .test)
        XCTAssertEqual(kept.shoppers, [0, 1])
        XCTAssertEqual(kept.repeatTargetCount, 1)
        XCTAssertEqual(Array(kept.histories[0].products), [1, 0, 2]) // the repeat stays in history
        let dropped = EvaluationSet(split: split, part: .test, repeatTargets: .drop)
        XCTAssertEqual(dropped.shoppers, [1])
        XCTAssertEqual(dropped.repeatTargetCount, 1)
    }

    func testTimeSplitWithValidationCutAndColdShoppers() {
        // Cut at 100, validation from 80 on.
        let log = makeLog(shoppers: 3, products: 5, [
            (0, 0, 10), (0, 1, 85), (0, 2, 100), (0, 3, 150), (0, 2, 160), (0, 0, 170),
            (1, 4, 50), (1, 1, 60),                // history only: not evaluated
            (2, 3, 120),                           // new after the cut: skipped
        ])
        let split = TimeSplit(before: 100, validation: .before(80)).split(log)
        XCTAssertEqual(split.parts, [.train, .validation, .test, .test, .test, .test, .train, .train, .test])
        let test = EvaluationSet(split: split, part: .test)
        XCTAssertEqual(test.shoppers, [0])
        // Distinct post-cut products {2, 3, 0}, sorted; 0 was bought before the cut.
        XCTAssertEqual(Array(test.targets(at: 0)), [0, 2, 3])
        XCTAssertEqual(test.repeatTargetCount, 1)
        XCTAssertEqual(test.skippedShopperCount, 1)
        XCTAssertEqual(Array(test.histories[0].products), [0, 1])
        let dropped = EvaluationSet(split: split, part: .test, repeatTargets: .drop)
        XCTAssertEqual(Array(dropped.targets(at: 0)), [2, 3])
    }

    func testTimeSplitLastFractionOfTrainingTime() {
        // First event at 0, cut at 100: the last 25% of [0, 100) is [75, 100).
        let log = makeLog(shoppers: 1, products: 4, [(0, 0, 0), (0, 1, 74), (0, 2, 75), (0, 3, 100)])
        let timeSplit = TimeSplit(before: 100, validation: .lastFraction(0.25))
        XCTAssertEqual(timeSplit.validationCut(for: log), 75)
        XCTAssertEqual(timeSplit.split(log).parts, [.train, .train, .validation, .test])
        XCTAssertEqual(TimeSplit(before: 100).split(log).parts, [.train, .train, .train, .test])
    }

    func testKCoreRemovesIterativelyAndReindexes() {
        // minEvents 2. Product 3 has one event, so shopper 2 drops to one event and goes,
        // which leaves product 2 with one event, so it goes too, and then shopper 1
        // (events on 0 and 2) is down to one and goes. Shoppers 0 and 3 with products 0
        // and 1 remain.
        let log = makeLog(products: 4, histories: [[0, 1], [0, 2], [2, 3], [1, 0]])
        let core = KCoreFilter(minEvents: 2).apply(to: log)
        XCTAssertEqual(core.shopperKeys, ["s0", "s3"])
        XCTAssertEqual(core.productKeys, ["p0", "p1"])
        XCTAssertEqual(core.interactions.map { [$0.shopper, $0.product] }, [[0, 0], [0, 1], [1, 1], [1, 0]])
        XCTAssertEqual(core.interactions.map(\.eventID), [1, 2, 7, 8])
        // Already a 2-core: unchanged.
        XCTAssertEqual(KCoreFilter(minEvents: 2).apply(to: core).interactions, core.interactions)
    }
}
