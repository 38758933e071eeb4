import CuratorCore
import Dispatch
import Foundation
import Linear

/// The outcome of one evaluation: averaged metrics plus every shopper's top list.
public struct Evaluation: Sendable {
    public var report: EvaluationReport
    public var rankings: ShopperRankings
}

/// Each evaluated shopper's top recommendations (products not in their history), for
/// `--dump-rankings` and for reading failures by hand.
public struct ShopperRankings: Sendable {
    /// Evaluated shoppers, ascending (same order as `EvaluationSet.shoppers`).
    public let shoppers: [Int32]
    public let depth: Int
    /// Row-major [shoppers × depth]; rows shorter than `depth` are padded with -1.
    public let products: [Int32]

    /// The `i`-th shopper's ranking, best first, without padding.
    public func ranking(at i: Int) -> ArraySlice<Int32> {
        let row = products[(i * depth)..<((i + 1) * depth)]
        return row.prefix { $0 >= 0 }
    }
}

/// Ranks the whole catalogue for every evaluated shopper and averages top-K metrics.
///
/// Products already in the shopper's history are left out of the ranking (the
/// standard "rank everything the shopper has not bought" protocol). Shoppers are
/// scored in batches (so dot-product models do one `sgemm` per batch) and batches are
/// spread over the cores; each shopper's values land in its own slot and are summed in
/// shopper order afterwards, so the report is identical whatever the scheduling.
public struct Evaluator: Sendable {
    public var metrics: RankingMetrics
    /// Catalogue coverage is measured over each shopper's first `coverageCutoff` products.
    public var coverageCutoff: Int
    /// How many products per shopper to keep in `Evaluation.rankings` (at least the largest cutoff is ranked).
    public var rankingDepth: Int
    public var batchSize: Int
    public var workerCount: Int
    /// Re-ranks each shopper's list as the server does (`--diversity`); needs `productSpace`.
    public var variety = ListVariety()
    /// The products' language-model vectors and categories: with them the report also has
    /// `ild@10` (mean pairwise 1 − cosine in the top 10) and `categories@10` (distinct categories there).
    public var productSpace: ProductSpace?

    /// Product vectors (unit, by product index) and category paths, for `variety` and the variety metrics.
    public struct ProductSpace: Sendable {
        public var vectors: [Float]
        public var dimension: Int
        public var categories: [String]

        public init(vectors: [Float], dimension: Int, categories: [String]) {
            self.vectors = vectors
            self.dimension = dimension
            self.categories = categories
        }

        func vector(_ product: Int) -> ArraySlice<Float> { vectors[(product * dimension)..<((product + 1) * dimension)] }
    }

    public init(metrics: RankingMetrics = RankingMetrics(), coverageCutoff: Int = 10, rankingDepth: Int = 20,
                batchSize: Int = 128, workerCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(coverageCutoff > 0 && rankingDepth >= 0 && batchSize > 0 && workerCount > 0)
        self.metrics = metrics
        self.coverageCutoff = coverageCutoff
        self.rankingDepth = rankingDepth
        self.batchSize = batchSize
        self.workerCount = workerCount
    }

    public func evaluate<Model: Recommender>(_ model: Model, on set: EvaluationSet) -> Evaluation {
        let productCount = set.histories.productCount
        let shopperCount = set.shopperCount
        let depth = max(rankingDepth, metrics.maxCutoff, coverageCutoff)
        let valueCount = metrics.valueCount
        var values = [Double](repeating: 0, count: shopperCount * valueCount)
        var rankings = [Int32](repeating: -1, count: shopperCount * depth)
        // Variety: re-rank from a deeper pool; measured per shopper over the top 10.
        let space = productSpace
        let variety = space == nil ? ListVariety() : self.variety
        let pool = variety.poolSize(k: depth)
        var listDiversity = [Double](repeating: 0, count: space == nil ? 0 : shopperCount)
        var listCategories = [Double](repeating: 0, count: space == nil ? 0 : shopperCount)
        let batchCount = (shopperCount + batchSize - 1) / batchSize
        let workers = max(1, min(workerCount, batchCount))
        let (batchSize, metrics) = (self.batchSize, self.metrics)

        values.withUnsafeMutableBufferPointer { valuesBuffer in
            rankings.withUnsafeMutableBufferPointer { rankingsBuffer in
                listDiversity.withUnsafeMutableBufferPointer { diversityBuffer in
                    listCategories.withUnsafeMutableBufferPointer { categoriesBuffer in
                        let out = UnsafeSendable((values: valuesBuffer, rankings: rankingsBuffer, diversity: diversityBuffer, categories: categoriesBuffer))
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            let scores = UnsafeMutableBufferPointer<Float>.allocate(capacity: batchSize * productCount)
                            defer { scores.deallocate() }
                            var selector = TopKSelector(k: pool, itemCount: productCount)
                            var ranking: [Int32] = []
                            ranking.reserveCapacity(depth)
                            var histories: [ShopperHistory] = []
                            histories.reserveCapacity(batchSize)
                            // Batches are dealt round-robin, so both workers get early and late shoppers.
                            for batch in stride(from: worker, to: batchCount, by: workers) {
                                let first = batch * batchSize
                                let end = min(first + batchSize, shopperCount)
                                histories.removeAll(keepingCapacity: true)
                                for i in first..<end { histories.append(set.histories[Int(set.shoppers[i])]) }
                                model.scores(for: histories, productCount: productCount, into: scores)
                                for (row, i) in (first..<end).enumerated() {
                                    let rowScores = UnsafeBufferPointer(
                                        rebasing: scores[(row * productCount)..<((row + 1) * productCount)])
                                    selector.select(scores: rowScores, excluding: histories[row].products, into: &ranking)
                                    if let space {
                                        if variety.isActive {
                                            let candidates = ranking.map { (index: Int($0), score: rowScores[Int($0)]) }
                                            ranking = variety.rerank(candidates, k: depth, vector: space.vector, category: { space.categories[$0] })
                                                .map { Int32($0.index) }
                                        }
                                        let top = ranking.prefix(10).map { Int($0) }
                                        out.value.diversity[i] = ListVariety.intraListDiversity(top, vector: space.vector)
                                        out.value.categories[i] = Double(Set(top.map { space.categories[$0] }).count)
                                    } else if ranking.count > depth {
                                        ranking.removeLast(ranking.count - depth)
                                    }
                                    let slot = UnsafeMutableBufferPointer(
                                        rebasing: out.value.values[(i * valueCount)..<((i + 1) * valueCount)])
                                    set.targets.withUnsafeBufferPointer { targets in
                                        ranking.withUnsafeBufferPointer { r in
                                            metrics.measure(
                                                ranking: r,
                                                targets: UnsafeBufferPointer(rebasing: targets[set.targetOffsets[i]..<set.targetOffsets[i + 1]]),
                                                into: slot)
                                        }
                                    }
                                    for (rank, product) in ranking.prefix(depth).enumerated() { out.value.rankings[i * depth + rank] = product }
                                }
                            }
                        }
                    }
                }
            }
        }

        // Averages, summed in shopper order for a reproducible result.
        var sums = [Double](repeating: 0, count: valueCount)
        for i in 0..<shopperCount {
            for v in 0..<valueCount { sums[v] += values[i * valueCount + v] }
        }
        var report = [String: Double]()
        for (v, name) in metrics.names.enumerated() {
            report[name] = shopperCount > 0 ? sums[v] / Double(shopperCount) : 0
        }
        var covered = [Bool](repeating: false, count: productCount)
        for i in 0..<shopperCount {
            for rank in 0..<coverageCutoff {
                let p = rankings[i * depth + rank]
                if p >= 0 { covered[Int(p)] = true }
            }
        }
        let coveredCount = covered.reduce(0) { $0 + ($1 ? 1 : 0) }
        report["coverage@\(coverageCutoff)"] = productCount > 0 ? Double(coveredCount) / Double(productCount) : 0
        if space != nil, shopperCount > 0 {
            report["ild@10"] = listDiversity.reduce(0, +) / Double(shopperCount)
            report["categories@10"] = listCategories.reduce(0, +) / Double(shopperCount)
        }

        // Trim the kept rankings to the requested depth.
        var kept = rankings
        if depth != rankingDepth {
            kept = []
            kept.reserveCapacity(shopperCount * rankingDepth)
            for i in 0..<shopperCount { kept.append(contentsOf: rankings[(i * depth)..<(i * depth + rankingDepth)]) }
        }
        return Evaluation(
            report: EvaluationReport(
                model: model.name, part: set.part, shoppers: shopperCount, targets: set.targetCount,
                repeatTargets: set.repeatTargetCount, repeatTargetPolicy: set.repeatTargets,
                skippedShoppers: set.skippedShopperCount, products: productCount, metrics: report,
                onEarlyStoppingSet: model.earlyStoppingPart == set.part),
            rankings: ShopperRankings(shoppers: set.shoppers, depth: rankingDepth, products: kept))
    }
}

/// Averaged metrics of one model on one part of a split, ready to print or save as JSON.
///
/// Metric names are lower case with the cutoff: "precision@5", "recall@10", "ndcg@10",
/// "hr@20", "mrr@10", "coverage@10".
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var model: String
    public var part: SplitPart
    /// Shoppers evaluated (with history and at least one target).
    public var shoppers: Int
    public var targets: Int
    /// Targets already in the shopper's history: unreachable under `.keep`, removed under `.drop`.
    public var repeatTargets: Int
    public var repeatTargetPolicy: RepeatTargetPolicy
    /// Shoppers with targets but no history, not evaluated.
    public var skippedShoppers: Int
    public var products: Int
    public var metrics: [String: Double]
    /// Measured on the part the model's training stopped early on (the validation part of a
    /// trained model): the model was picked for doing well there, so its figures flatter it and
    /// do not compare with the baselines' or with test figures.
    public var onEarlyStoppingSet: Bool

    public init(model: String, part: SplitPart, shoppers: Int, targets: Int, repeatTargets: Int,
                repeatTargetPolicy: RepeatTargetPolicy, skippedShoppers: Int, products: Int, metrics: [String: Double],
                onEarlyStoppingSet: Bool = false) {
        self.model = model
        self.part = part
        self.shoppers = shoppers
        self.targets = targets
        self.repeatTargets = repeatTargets
        self.repeatTargetPolicy = repeatTargetPolicy
        self.skippedShoppers = skippedShoppers
        self.products = products
        self.metrics = metrics
        self.onEarlyStoppingSet = onEarlyStoppingSet
    }

    public subscript(metric: String) -> Double? { metrics[metric] }

    /// The model's name as reports print it, marked when measured on its early-stopping set.
    public var label: String { label(for: model) }

    /// `name` (e.g. with a version) as reports print it, marked when measured on the early-stopping set.
    public func label(for name: String) -> String {
        onEarlyStoppingSet ? "\(name) (\(part.rawValue) = early-stopping set)" : name
    }
}
