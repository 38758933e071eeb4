import CuratorCore
import Foundation
import OnlineMeasurement
import XCTest

/// The statistics behind online reports and experiments, checked against known values and by
/// simulation: assignment is sticky and balanced, A/A tests reject at their nominal rate,
/// team-draft interleaving is fair and credits the right team.
final class OnlineMeasurementTests: XCTestCase {
    func testAssignmentIsStickyAndHonoursWeights() {
        for weights in [[1.0, 1.0], [1.0, 3.0], [2.0, 1.0, 1.0]] {
            let experiment = Experiment(name: "w\(weights)", surface: .shopper, method: .ab,
                                        variants: weights.enumerated().map { .init(name: "v\($0)", model: "popular", weight: $1) }, startedAtMillis: 0)
            var counts = [Int](repeating: 0, count: weights.count)
            let n = 20_000
            for i in 0..<n {
                let variant = VariantAssignment.variant(of: experiment, shopperKey: "~shopper\(i)")
                XCTAssertEqual(variant, VariantAssignment.variant(of: experiment, shopperKey: "~shopper\(i)"))
                counts[variant] += 1
            }
            // Chi-square against the weights; the 0.999 quantile for 1 and 2 degrees of freedom is 10.8 and 13.8.
            let total = weights.reduce(0, +)
            let chiSquare = zip(counts, weights).reduce(0.0) { sum, pair in
                let expected = Double(n) * pair.1 / total
                return sum + (Double(pair.0) - expected) * (Double(pair.0) - expected) / expected
            }
            XCTAssertLessThan(chiSquare, weights.count == 2 ? 10.8 : 13.8, "counts \(counts) for weights \(weights)")
        }
        // Another experiment splits the same shoppers independently.
        let a = Experiment(name: "a", surface: .shopper, method: .ab, variants: [.init(name: "x", model: "popular"), .init(name: "y", model: "semantic")], startedAtMillis: 0)
        var b = a
        b.name = "b"
        let agree = (0..<10_000).count { VariantAssignment.variant(of: a, shopperKey: "~\($0)") == VariantAssignment.variant(of: b, shopperKey: "~\($0)") }
        XCTAssertEqual(Double(agree) / 10_000, 0.5, accuracy: 0.03)
    }

    /// Shoppers with their own click rates and numbers of lists: a test that treated impressions as
    /// independent would reject far more often than 5% here; the per-shopper delta method does not.
    func testAAExperimentsRejectAtTheNominalRate() {
        var generator = SeededGenerator(seed: 7)
        var rejections = 0
        let experiments = 400
        for _ in 0..<experiments {
            var arms: [(clicks: [Double], impressions: [Double])] = [([], []), ([], [])]
            for arm in 0..<2 {
                for _ in 0..<300 {
                    let rate = Double.random(in: 0...0.3, using: &generator)
                    let lists = Int.random(in: 1...8, using: &generator)
                    let impressions = lists * 10
                    let clicks = (0..<impressions).count { _ in Double.random(in: 0..<1, using: &generator) < rate }
                    arms[arm].clicks.append(Double(clicks))
                    arms[arm].impressions.append(Double(impressions))
                }
            }
            let comparison = OnlineStatistics.compare(control: .init(numerators: arms[0].clicks, denominators: arms[0].impressions),
                                                      treatment: .init(numerators: arms[1].clicks, denominators: arms[1].impressions))
            if comparison.pValue < 0.05 { rejections += 1 }
        }
        let rate = Double(rejections) / Double(experiments)
        XCTAssertGreaterThan(rate, 0.02, "\(rejections) of \(experiments)")
        XCTAssertLessThan(rate, 0.09, "\(rejections) of \(experiments)")
    }

    func testARealDifferenceIsFoundAndSizedRight() {
        var generator = SeededGenerator(seed: 11)
        func arm(_ rate: Double) -> OnlineStatistics.Ratio {
            var clicks: [Double] = [], impressions: [Double] = []
            for _ in 0..<2_000 {
                clicks.append(Double((0..<10).count { _ in Double.random(in: 0..<1, using: &generator) < rate }))
                impressions.append(10)
            }
            return .init(numerators: clicks, denominators: impressions)
        }
        let comparison = OnlineStatistics.compare(control: arm(0.05), treatment: arm(0.07))
        XCTAssertLessThan(comparison.pValue, 0.001)
        XCTAssertTrue(comparison.interval.low < 0.02 && 0.02 < comparison.interval.high, "\(comparison.interval)")
        // Binomial per shopper: a shopper's rate has variance p(1-p)/10, so
        // n = (1.96 + 0.84)² (0.05·0.95 + 0.07·0.93) / 10 / 0.02² ≈ 221 per arm.
        XCTAssertEqual(Double(comparison.shoppersPerArmNeeded ?? 0), 221, accuracy: 40)
    }

    func testKnownValues() {
        XCTAssertEqual(OnlineStatistics.signTest(wins: 10, losses: 0), 2.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(OnlineStatistics.signTest(wins: 5, losses: 5), 1)
        XCTAssertEqual(OnlineStatistics.signTest(wins: 60, losses: 40), 0.0569, accuracy: 0.0005)
        let wilson = OnlineStatistics.wilson(successes: 0, trials: 10)
        XCTAssertEqual(wilson.low, 0)
        XCTAssertEqual(wilson.high, 0.2775, accuracy: 0.0005)
        XCTAssertEqual(OnlineStatistics.twoSidedP(z: 1.959963984540054), 0.05, accuracy: 1e-9)
        for n in 1...200 {
            XCTAssertEqual(OnlineStatistics.wilson(successes: 0, trials: n).low, 0, "a rate of 0 lies inside its own interval")
            XCTAssertEqual(OnlineStatistics.wilson(successes: n, trials: n).high, 1)
        }
        // Arms that differ by rounding error only: no sample size, no crash.
        let same = OnlineStatistics.Ratio(numerators: [1, 2, 3], denominators: [10, 10, 10])
        var nudged = same
        nudged.value += 7e-18
        XCTAssertNil(OnlineStatistics.compare(control: same, treatment: nudged).shoppersPerArmNeeded)
    }

    func testTeamDraftIsFairAndCreditsTheTeamThatAddedTheItem() {
        var generator = SeededGenerator(seed: 3)
        let first = ["a", "b", "c", "d", "e"], second = ["b", "x", "a", "y", "z"]
        var firstFirst = 0
        for _ in 0..<2_000 {
            let merged = TeamDraft.merge(first, second, k: 6, using: &generator)
            XCTAssertEqual(merged.items.count, 6)
            XCTAssertEqual(Set(merged.items).count, 6, "no item twice")
            let picks = merged.teams.count { $0 == 0 }
            XCTAssertEqual(Double(picks), 3, accuracy: 1)
            // Each team's items keep their own order.
            for team in 0..<2 {
                let own = zip(merged.items, merged.teams).filter { Int($0.1) == team }.map(\.0)
                let source = team == 0 ? first : second
                XCTAssertEqual(own, own.sorted { source.firstIndex(of: $0)! < source.firstIndex(of: $1)! })
            }
            if merged.teams[0] == 0 { firstFirst += 1 }
        }
        XCTAssertEqual(Double(firstFirst) / 2_000, 0.5, accuracy: 0.05, "the coin decides who picks first")
        let credit = TeamDraft.credit(teams: [0, 1, 1, 0], clickedPositions: [2, 3, 3, 9])
        XCTAssertEqual(credit.first, 0)
        XCTAssertEqual(credit.second, 2)
        // One list shorter than k: the other fills in.
        let short = TeamDraft.merge(["a"], ["b", "c", "d"], k: 4, using: &generator)
        XCTAssertEqual(Set(short.items), ["a", "b", "c", "d"])
    }

    func testReportCountsEachCardOncePerKindAndOnlyTheListsShopper() {
        let list = ServedList(id: "L1", shopperKey: "~s1", surface: .shopper, model: "semantic", productIDs: ["P1", "P2", "P3"], servedAtMillis: 0)
        func event(_ product: String, _ type: EventType, shopper: String = "~s1", price: String? = nil, quantity: Int64? = nil) -> AttributedEvent {
            AttributedEvent(recommendationID: "L1", shopperKey: shopper, productID: product, type: type, quantity: quantity, price: price, atMillis: 1)
        }
        let slice = OnlineLogSlice(
            lists: [list],
            seen: [SeenReport(recommendationID: "L1", positions: [1, 2], atMillis: 1), SeenReport(recommendationID: "L1", positions: [2, 7], atMillis: 2)],
            attributed: [event("P1", .click), event("P1", .click), event("P9", .click), event("P2", .click, shopper: "~other"),
                         event("P1", .purchase, price: "2.50", quantity: 3), event("P3", .purchase, price: "1.00")])
        let report = OnlineReport(slice: slice, groupBy: [.model], sinceMillis: 0, untilMillis: 10)
        XCTAssertEqual(report.rows.count, 1)
        let row = report.rows[0]
        XCTAssertEqual(row.impressions, 3)
        XCTAssertEqual(row.seen, 2, "positions 1 and 2; 7 is not in the list")
        XCTAssertEqual(row.clicks, 1, "P1 twice is one click; P9 is not in the list; another shopper's click does not count")
        XCTAssertEqual(row.purchases, 2)
        XCTAssertEqual(row.revenue, 8.5, accuracy: 1e-9)
        let byPosition = OnlineReport(slice: slice, groupBy: [.position], sinceMillis: 0, untilMillis: 10)
        XCTAssertEqual(byPosition.rows.map(\.group), ["1", "2", "3"])
        let byDayAndModel = OnlineReport(slice: slice, groupBy: [.day, .model], sinceMillis: 0, untilMillis: 10)
        XCTAssertEqual(byDayAndModel.rows.map(\.group), ["1970-01-01 | semantic"])
        XCTAssertEqual(byDayAndModel.rows.first?.keys, ["day": "1970-01-01", "model": "semantic"])
        XCTAssertNil(OnlineReport.Grouping.list("day,day"))
        XCTAssertNil(OnlineReport.Grouping.list("colour"))
        XCTAssertEqual(byPosition.rows.map(\.clicks), [1, 0, 0])
        XCTAssertEqual(byPosition.rows.map(\.purchases), [1, 0, 1])
    }

    func testRecommendationIDsAreWellFormedAndDistinct() {
        let ids = (0..<10_000).map { _ in RecommendationID.make() }
        XCTAssertEqual(Set(ids).count, ids.count)
        XCTAssertTrue(ids.allSatisfy(RecommendationID.isWellFormed))
        XCTAssertFalse(RecommendationID.isWellFormed("short"))
        XCTAssertFalse(RecommendationID.isWellFormed("AAAAAAAAAAAAAAAAAAAA/A"))
    }
}
