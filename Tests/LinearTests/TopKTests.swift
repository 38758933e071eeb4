import Linear
import XCTest

final class TopKTests: XCTestCase {
    func testBestFirstWithTiesByIndexAndExclusion() {
        var selector = TopKSelector(k: 3, itemCount: 6)
        // Scores: 0.5 at 0, 2 at 1, 0.5 at 2, 3 at 3, 2 at 4, -1 at 5.
        let scores: [Float] = [0.5, 2, 0.5, 3, 2, -1]
        XCTAssertEqual(selector.select(scores: scores), [3, 1, 4])
        // Excluding 3 and 1: 4 (2), then the 0.5 tie, lower index first: 0, 2.
        XCTAssertEqual(selector.select(scores: scores, excluding: [3, 1]), [4, 0, 2])
        // Exclusion does not leak into the next call.
        XCTAssertEqual(selector.select(scores: scores), [3, 1, 4])
    }

    func testFewerItemsThanKAndNaN() {
        var selector = TopKSelector(k: 10, itemCount: 4)
        XCTAssertEqual(selector.select(scores: [1, .nan, -.infinity, 2], excluding: [0]), [3, 2])
        var none = TopKSelector(k: 0, itemCount: 2)
        XCTAssertEqual(none.select(scores: [1, 2]), [])
    }

    func testMatchesFullSortOnRandomScores() {
        var rng = SystemRandomNumberGenerator()
        let n = 1000
        var selector = TopKSelector(k: 20, itemCount: n)
        for _ in 0..<20 {
            // Few distinct values so ties are common.
            let scores = (0..<n).map { _ in Float(Int.random(in: 0..<50, using: &rng)) }
            let excluded = (0..<30).map { _ in Int32.random(in: 0..<Int32(n), using: &rng) }
            let excludedSet = Set(excluded)
            let kept: [Int] = (0..<n).filter { !excludedSet.contains(Int32($0)) }
            let sorted = kept.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
            let expected: [Int32] = sorted.prefix(20).map { Int32($0) }
            XCTAssertEqual(selector.select(scores: scores, excluding: excluded), expected)
        }
    }

    func testOneAtATimeMatchesWholeVectorAndFilterIsAskedOnlyAboutEntrants() {
        let scores: [Float] = [0.5, 2, 0.5, 3, 2, -1, .nan, 2]
        var streaming = TopKSelector(k: 3)
        for (i, s) in scores.enumerated() where streaming.wouldAccept(score: s, id: Int64(i)) {
            streaming.offer(score: s, id: Int64(i))
        }
        let streamed = streaming.finish()
        XCTAssertEqual(streamed.map(\.id), [3, 1, 4])
        XCTAssertEqual(streamed.map(\.score), [3, 2, 2])
        XCTAssertTrue(streaming.finish().isEmpty, "finish empties the selector")

        // Only odd rows pass; the filter is never asked about a score that could not enter.
        var asked: [Int] = []
        var selector = TopKSelector(k: 2)
        let best = scores.withUnsafeBufferPointer { buffer in
            selector.select(scores: buffer, where: { row in asked.append(row); return row % 2 == 1 })
        }
        XCTAssertEqual(best.map(\.index), [3, 1])
        XCTAssertEqual(best.map(\.score), [3, 2])
        XCTAssertFalse(asked.contains(6), "NaN is never offered")
        XCTAssertFalse(asked.contains(5), "-1 cannot beat the kept 2 and 3")
    }
}
