import CuratorCore
import Foundation
import Recommenders
import XCTest

final class EvaluatorTests: XCTestCase {
    /// s0: 0 1 2, s1: 0 1 3, s2: 0 2 1 4, s3: 1 0 (two events: training only).
    /// Training counts: product 0 → 4 (s0, s1, s2, s3), 1 → 1 (s3), 2 → 1 (s2), 3 and 4 → 0;
    /// every event is a purchase (weight 4), so popularity is 4 × the count.
    private let log = makeLog(products: 5, histories: [[0, 1, 2], [0, 1, 3], [0, 2, 1, 4], [1, 0]])

    func testPopularOnLeaveOneOutByHand() throws {
        let split = LeaveOneOutSplit().split(log)
        var popular = PopularRecommender()
        try popular.fit(split.trainingHistories)
        XCTAssertEqual(popular.popularity.scores, [16, 4, 4, 0, 0])

        // Test histories are train + validation: s0 {0,1}, s1 {0,1}, s2 {0,2,1}.
        // s0 ranks 2 3 4 → target 2 at rank 1: ndcg 1, mrr 1.
        // s1 ranks 2 3 4 → target 3 at rank 2: ndcg 1/log2(3) = 0.6309298, mrr 0.5.
        // s2 ranks 3 4   → target 4 at rank 2: ndcg 0.6309298, mrr 0.5.
        // Means: ndcg@5 = (1 + 2 · 0.6309298) / 3 = 0.7539532; mrr@5 = 2/3; hr@5 = recall@5 = 1;
        // precision@5 = 1/5; hr@1 would be 1/3. Coverage@10: {2, 3, 4} of 5 products = 0.6.
        let evaluation = Evaluator().evaluate(popular, on: EvaluationSet(split: split, part: .test))
        let r = evaluation.report
        XCTAssertEqual(r.shoppers, 3)
        XCTAssertEqual(r.targets, 3)
        XCTAssertEqual(r.repeatTargets, 0)
        XCTAssertEqual(r["ndcg@5"]!, 0.7539532, accuracy: 1e-6)
        XCTAssertEqual(r["mrr@10"]!, 2.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(r["hr@20"], 1)
        XCTAssertEqual(r["recall@5"], 1)
        XCTAssertEqual(r["precision@5"]!, 0.2, accuracy: 1e-9)
        XCTAssertEqual(r["precision@10"]!, 0.1, accuracy: 1e-9)
        XCTAssertEqual(r["coverage@10"]!, 0.6, accuracy: 1e-9)
        XCTAssertEqual(r.metrics.count, 16)
        XCTAssertEqual(evaluation.rankings.shoppers, [0, 1, 2])
        XCTAssertEqual(Array(evaluation.rankings.ranking(at: 0)), [2, 3, 4])
        XCTAssertEqual(Array(evaluation.rankings.ranking(at: 2)), [3, 4])

        // Validation: histories are train only (s0 {0}, s1 {0}, s2 {0,2}), target 1 for all.
        // Popular ranks 1 first for each (1 and 2 tie at count 1; lower index first).
        let validation = Evaluator().evaluate(popular, on: EvaluationSet(split: split, part: .validation))
        XCTAssertEqual(validation.report["ndcg@10"], 1)
        XCTAssertEqual(validation.report.part, .validation)
    }

    func testFiguresOnTheEarlyStoppingSetAreLabelled() throws {
        /// Popularity, posing as a model that stopped early on validation.
        struct StoppedOnValidation: Recommender {
            var popular = PopularRecommender()
            var name: String { "stopped" }
            var earlyStoppingPart: SplitPart? { .validation }
            mutating func fit(_ training: ShopperHistories) throws { try popular.fit(training) }
            func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
                popular.scores(for: history, into: scores)
            }
        }
        let split = LeaveOneOutSplit().split(log)
        var model = StoppedOnValidation()
        try model.fit(split.trainingHistories)
        let onValidation = Evaluator().evaluate(model, on: EvaluationSet(split: split, part: .validation)).report
        XCTAssertTrue(onValidation.onEarlyStoppingSet)
        XCTAssertEqual(onValidation.label, "stopped (validation = early-stopping set)")
        let onTest = Evaluator().evaluate(model, on: EvaluationSet(split: split, part: .test)).report
        XCTAssertFalse(onTest.onEarlyStoppingSet)
        XCTAssertEqual(onTest.label, "stopped")
        // Models that do not stop early are never marked.
        var popular = PopularRecommender()
        try popular.fit(split.trainingHistories)
        XCTAssertFalse(Evaluator().evaluate(popular, on: EvaluationSet(split: split, part: .validation)).report.onEarlyStoppingSet)
    }

    func testResultDoesNotDependOnBatchingOrThreads() throws {
        // A larger random log: the same report and rankings for any batch size and worker count.
        var generator = SplitMix(seed: 7)
        let histories = (0..<300).map { _ in (0..<Int.random(in: 3...12, using: &generator)).map { _ in Int.random(in: 0..<80, using: &generator) } }
        let log = makeLog(products: 80, histories: histories)
        let split = LeaveOneOutSplit().split(log)
        var knn = ItemKNNRecommender(neighbourCount: 20)
        try knn.fit(split.trainingHistories)
        let set = EvaluationSet(split: split, part: .test)
        let a = Evaluator(batchSize: 7, workerCount: 1).evaluate(knn, on: set)
        let b = Evaluator(batchSize: 64, workerCount: 2).evaluate(knn, on: set)
        XCTAssertEqual(a.report, b.report)
        XCTAssertEqual(a.rankings.products, b.rankings.products)

        // The report encodes with the documented metric names.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(a.report), as: UTF8.self)
        XCTAssertTrue(json.contains("\"ndcg@10\""), json)
        XCTAssertEqual(try JSONDecoder().decode(EvaluationReport.self, from: Data(json.utf8)), a.report)
    }

    func testSemanticBatchedEvaluationFindsTheNearestProduct() throws {
        // Products on a circle; each shopper's last product is next to their history,
        // so the text model ranks it first.
        let n = 24
        var vectors: [Float] = []
        for p in 0..<n {
            let angle = Double(p) / Double(n) * 2 * Double.pi
            vectors += [Float(cos(angle)), Float(sin(angle))]
        }
        let histories = (0..<n).map { s in [s, (s + 1) % n, (s + 2) % n, (s + 3) % n] }
        let split = LeaveOneOutSplit().split(makeLog(products: n, histories: histories))
        var model = SemanticRecommender(productVectors: vectors, dimension: 2)
        try model.fit(split.trainingHistories)
        let report = Evaluator(batchSize: 5).evaluate(model, on: EvaluationSet(split: split, part: .test)).report
        XCTAssertEqual(report.shoppers, n)
        XCTAssertEqual(report["hr@5"], 1)
        XCTAssertEqual(report["mrr@5"], 1)
    }
}

/// A tiny seeded generator so fixtures are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
