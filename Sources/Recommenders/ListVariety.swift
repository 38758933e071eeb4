import CuratorCore
import Foundation
import Linear

/// Variety in a ranked list: maximal marginal relevance (Carbonell and Goldstein, 1998) over the
/// products' language-model vectors, and at most `maxPerCategory` products of one category. The
/// one implementation: the server re-ranks every list with it, `curator evaluate --diversity`
/// measures what it costs in accuracy.
public struct ListVariety: Sendable, Equatable {
    /// 0: the scores' order; 1: variety first.
    public var diversity: Float
    public var maxPerCategory: Int?

    public init(diversity: Float = 0, maxPerCategory: Int? = nil) {
        self.diversity = diversity
        self.maxPerCategory = maxPerCategory
    }

    /// Whether it changes anything.
    public var isActive: Bool { diversity > 0 || maxPerCategory != nil }

    /// How many scored candidates to re-rank for a list of `k`: enough that a varied choice exists,
    /// bounded so the re-ranking stays cheap (k × pool similarities).
    public func poolSize(k: Int) -> Int {
        guard isActive else { return k }
        return maxPerCategory != nil ? max(k * 10, k + 50) : max(k * 4, k + 30)
    }

    /// The k best of `candidates` (best first) by `(1 − diversity) · relevance − diversity · (the
    /// highest cosine to an already chosen product)`, relevance being the score scaled to [0, 1]
    /// over the pool. A category cap is kept while the pool allows: a list is never shorter than k
    /// for it; when only full categories are left, the best remaining fill the list.
    public func rerank(_ candidates: [(index: Int, score: Float)], k: Int, vector: (Int) -> ArraySlice<Float>,
                       category: (Int) -> String) -> [(index: Int, score: Float)] {
        guard isActive, candidates.count > 1 else { return Array(candidates.prefix(k)) }
        let scores = candidates.map(\.score)
        let low = scores.min() ?? 0, high = scores.max() ?? 0
        let span = high - low
        let relevance = scores.map { span > 0 && span.isFinite ? ($0 - low) / span : 1 }
        var closest = [Float](repeating: -1, count: candidates.count)
        var taken = [Bool](repeating: false, count: candidates.count)
        var perCategory: [String: Int] = [:]
        var chosen: [(index: Int, score: Float)] = []
        chosen.reserveCapacity(k)
        var capped = maxPerCategory != nil
        // Each candidate's vector read once (k × pool similarities follow).
        let vectors = diversity > 0 ? candidates.map { vector($0.index) } : []
        while chosen.count < min(k, candidates.count) {
            var best = -1
            var bestValue = -Float.infinity
            for i in candidates.indices where !taken[i] {
                if capped, let cap = maxPerCategory, perCategory[category(candidates[i].index), default: 0] >= cap { continue }
                let value = (1 - diversity) * relevance[i] - diversity * (chosen.isEmpty ? 0 : max(0, closest[i]))
                if value > bestValue {
                    bestValue = value
                    best = i
                }
            }
            guard best >= 0 else {
                capped = false
                continue
            }
            taken[best] = true
            chosen.append(candidates[best])
            perCategory[category(candidates[best].index), default: 0] += 1
            guard diversity > 0 else { continue }
            let picked = vectors[best]
            for i in candidates.indices where !taken[i] {
                let similarity = Kernels.dot(picked, vectors[i])
                if similarity > closest[i] { closest[i] = similarity }
            }
        }
        return chosen
    }

    /// Intra-list diversity: the mean over pairs of 1 − cosine of their (unit) vectors.
    public static func intraListDiversity(_ indices: some Collection<Int>, vector: (Int) -> ArraySlice<Float>) -> Double {
        let items = Array(indices)
        guard items.count > 1 else { return 0 }
        var total = 0.0, pairs = 0
        for i in 0..<items.count {
            for j in (i + 1)..<items.count {
                total += Double(1 - Kernels.dot(vector(items[i]), vector(items[j])))
                pairs += 1
            }
        }
        return total / Double(pairs)
    }
}
