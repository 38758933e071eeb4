import Foundation
import Recommenders
import XCTest

final class MetricsTests: XCTestCase {
    private func value(_ m: RankingMetrics, _ values: [Double], _ kind: RankingMetrics.Kind, _ k: Int) -> Double {
        values[m.index(of: kind, at: k)!]
    }

    func testNamesAreLowerCaseWithCutoff() {
        let m = RankingMetrics(cutoffs: [10, 5])
        XCTAssertEqual(m.cutoffs, [5, 10])
        XCTAssertEqual(m.names, ["precision@5", "recall@5", "ndcg@5", "hr@5", "mrr@5",
                                 "precision@10", "recall@10", "ndcg@10", "hr@10", "mrr@10"])
    }

    func testMultiTargetByHand() {
        // Ranking 3 7 1 9 4 | 0 2 5 6 8, targets {1, 4, 11} (11 is not ranked at all).
        // @5: hits at ranks 3 and 5, so hits = 2.
        //   precision = 2/5 = 0.4; recall = 2/3; hr = 1; mrr = 1/3 (first hit at rank 3)
        //   DCG  = 1/log2(4) + 1/log2(6) = 0.5 + 0.3868528 = 0.8868528
        //   IDCG = over min(|T|=3, 5) = 3 ranks: 1 + 1/log2(3) + 1/log2(4) = 1 + 0.6309298 + 0.5 = 2.1309298
        //   ndcg = 0.8868528 / 2.1309298 = 0.4161812
        // @10: no further hits: precision = 2/10 = 0.2, the rest as @5 (IDCG still over 3 ranks).
        let m = RankingMetrics(cutoffs: [5, 10])
        let v = m.values(ranking: [3, 7, 1, 9, 4, 0, 2, 5, 6, 8], targets: [1, 4, 11])
        let accuracy = 1e-6
        XCTAssertEqual(value(m, v, .precision, 5), 0.4, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .recall, 5), 2.0 / 3, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .hr, 5), 1)
        XCTAssertEqual(value(m, v, .mrr, 5), 1.0 / 3, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .ndcg, 5), 0.4161812, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .precision, 10), 0.2, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .recall, 10), 2.0 / 3, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .ndcg, 10), 0.4161812, accuracy: accuracy)
        XCTAssertEqual(value(m, v, .mrr, 10), 1.0 / 3, accuracy: accuracy)
    }

    func testSingleTargetLeaveOneOutByHand() {
        // Ranking 5 2 8, target 8 at rank 3.
        // @1: no hit, everything 0.
        // @3: precision 1/3, recall 1, hr 1, mrr 1/3, ndcg = (1/log2(4)) / (1/log2(2)) = 0.5.
        let m = RankingMetrics(cutoffs: [1, 3])
        let v = m.values(ranking: [5, 2, 8], targets: [8])
        XCTAssertEqual(Array(v[0..<5]), [0, 0, 0, 0, 0])
        XCTAssertEqual(value(m, v, .precision, 3), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value(m, v, .recall, 3), 1)
        XCTAssertEqual(value(m, v, .hr, 3), 1)
        XCTAssertEqual(value(m, v, .mrr, 3), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(value(m, v, .ndcg, 3), 0.5, accuracy: 1e-12)
    }

    func testPerfectRankingAndShortList() {
        // Two targets ranked first and second: ndcg = (1 + 1/log2 3) / (1 + 1/log2 3) = 1.
        // A list of 2 against cutoff 5: precision is still hits / 5 = 0.4.
        let m = RankingMetrics(cutoffs: [5])
        let v = m.values(ranking: [4, 2], targets: [2, 4])
        XCTAssertEqual(value(m, v, .ndcg, 5), 1, accuracy: 1e-12)
        XCTAssertEqual(value(m, v, .precision, 5), 0.4, accuracy: 1e-12)
        XCTAssertEqual(value(m, v, .recall, 5), 1)
        XCTAssertEqual(value(m, v, .mrr, 5), 1)
    }
}
