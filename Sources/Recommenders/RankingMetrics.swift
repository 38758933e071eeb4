import Foundation

/// Top-K ranking metrics for one shopper at several cutoffs, for full-catalogue ranking.
///
/// With hits(K) = number of targets among the first K recommendations, T the target set:
/// - precision@K = hits / K (K, not the list length, so short lists are not rewarded)
/// - recall@K = hits / |T|
/// - hr@K = 1 if hits > 0 (hit rate; equals recall@K when |T| = 1)
/// - mrr@K = 1 / rank of the first hit within K, else 0
/// - ndcg@K = Σ_{hit at rank r ≤ K} 1/log2(r + 1) divided by the ideal DCG, Σ_{r=1}^{min(|T|, K)} 1/log2(r + 1)
///
/// That covers leave-one-out (one target, where ndcg@K = 1/log2(rank + 1)) and time
/// splits (many targets) alike. Values are averaged over shoppers by the evaluator.
public struct RankingMetrics: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case precision, recall, ndcg, hr, mrr
    }

    public let cutoffs: [Int]
    /// Metric names in value order: for each cutoff, precision, recall, ndcg, hr, mrr.
    public let names: [String]
    /// 1 / log2(rank + 1) for ranks 1...max cutoff.
    private let discounts: [Double]
    /// Running sums of `discounts`: ideal DCG for n relevant items is `idealDCG[n]`.
    private let idealDCG: [Double]

    public init(cutoffs: [Int] = [5, 10, 20]) {
        precondition(!cutoffs.isEmpty && cutoffs.allSatisfy { $0 > 0 }, "cutoffs must be positive")
        let cutoffs = Array(Set(cutoffs)).sorted()
        self.cutoffs = cutoffs
        names = cutoffs.flatMap { k in Kind.allCases.map { "\($0.rawValue)@\(k)" } }
        let maxK = cutoffs.last!
        discounts = (1...maxK).map { 1 / log2(Double($0) + 1) }
        var ideal = [0.0]
        for d in discounts { ideal.append(ideal.last! + d) }
        idealDCG = ideal
    }

    public var maxCutoff: Int { cutoffs.last! }
    public var valueCount: Int { names.count }

    /// The index of a metric in `names`, e.g. `index(of: .ndcg, at: 10)`.
    public func index(of kind: Kind, at cutoff: Int) -> Int? {
        guard let c = cutoffs.firstIndex(of: cutoff) else { return nil }
        return c * Kind.allCases.count + Kind.allCases.firstIndex(of: kind)!
    }

    /// Metric values (in `names` order) for one ranking, best first, against sorted distinct targets.
    public func values(ranking: [Int32], targets: [Int32]) -> [Double] {
        precondition(zip(targets, targets.dropFirst()).allSatisfy { $0 < $1 }, "targets must be sorted and distinct")
        var out = [Double](repeating: 0, count: valueCount)
        ranking.withUnsafeBufferPointer { r in
            targets.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in measure(ranking: r, targets: t, into: o) }
            }
        }
        return out
    }

    /// Writes metric values (in `names` order) into `out`. `targets` sorted ascending, distinct, non-empty.
    public func measure(ranking: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                        into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count >= valueCount && !targets.isEmpty)
        let kinds = Kind.allCases.count
        var hits = 0
        var dcg = 0.0
        var firstHitRank = 0
        var cutoffIndex = 0
        let depth = min(ranking.count, maxCutoff)
        var rank = 0
        // Walk the ranking once; emit each cutoff's values as the walk passes it.
        while cutoffIndex < cutoffs.count {
            let k = cutoffs[cutoffIndex]
            while rank < min(k, depth) {
                if Self.contains(targets, ranking[rank]) {
                    hits += 1
                    dcg += discounts[rank]
                    if firstHitRank == 0 { firstHitRank = rank + 1 }
                }
                rank += 1
            }
            let base = cutoffIndex * kinds
            out[base] = Double(hits) / Double(k)
            out[base + 1] = Double(hits) / Double(targets.count)
            out[base + 2] = dcg / idealDCG[min(targets.count, k)]
            out[base + 3] = hits > 0 ? 1 : 0
            out[base + 4] = firstHitRank > 0 ? 1 / Double(firstHitRank) : 0
            cutoffIndex += 1
        }
    }

    @inline(__always)
    private static func contains(_ sorted: UnsafeBufferPointer<Int32>, _ x: Int32) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if sorted[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == x
    }
}
