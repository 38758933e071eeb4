import CuratorCore
import Foundation
import Recommenders

/// The engine's lists through `ListVariety` (after scoring, before evidence), over the live
/// catalogue's language-model vectors and categories.
enum DiverseLists {
    static func poolSize(k: Int, request: RecommendationRequest) -> Int {
        ListVariety(diversity: request.diversity, maxPerCategory: request.maxPerCategory).poolSize(k: k)
    }

    static func rerank(_ candidates: [(row: Int, score: Float)], k: Int, diversity: Float, maxPerCategory: Int?,
                       view: LiveCatalogue.View) -> [(row: Int, score: Float)] {
        let variety = ListVariety(diversity: diversity, maxPerCategory: maxPerCategory)
        guard variety.isActive else { return Array(candidates.prefix(k)) }
        return variety.rerank(candidates.map { (index: $0.row, score: $0.score) }, k: k, vector: { view.vector($0) },
                              category: { view.categoryKeys[$0] }).map { (row: $0.index, score: $0.score) }
    }
}
