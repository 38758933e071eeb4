import CuratorCore
import Foundation
import Linear
import Recommenders
import Storage
import Synchronization

/// A model an experiment's variant serves beside the engine's own: another stored version of a
/// trained model, or item-kNN fitted on the store's events when the experiment starts.
enum VariantRanker: Sendable {
    /// A trained model with its representation of every product it was loaded with (row order);
    /// rows added later are represented from their text when asked.
    case trained(ServingModel, table: [Float])
    /// Item-kNN over the events stored when it was fitted, products by their index in that log.
    case itemKNN(ItemKNNRecommender, productIndex: [String: Int32], productKeys: [String])

    /// The name a served list and the report show.
    var label: String {
        switch self {
        case .trained(let model, _): "\(model.name) v\(model.version)"
        case .itemKNN: "itemknn"
        }
    }
}

/// The variant rankers loaded for the running experiments, by the variant's model as written.
final class VariantRankers: Sendable {
    private let rankers = Mutex<[String: VariantRanker]>([:])

    func ranker(_ model: String) -> VariantRanker? { rankers.withLock { $0[model] } }
    func contains(_ model: String) -> Bool { rankers.withLock { $0[model] != nil } }
    func install(_ ranker: VariantRanker, for model: String) { rankers.withLock { $0[model] = ranker } }
    func keep(only models: Set<String>) { rankers.withLock { $0 = $0.filter { models.contains($0.key) } } }
}

extension RecommendationEngine {
    /// How a variant's model is served: `popular` and `semantic` by the engine's own scoring; a
    /// trained model by the engine's model when it is that one (and version), else by a variant
    /// ranker; `itemknn` by its ranker.
    func choice(forVariant model: String) -> ModelChoice {
        switch model {
        case "popular": return .popular
        case "semantic": return .semantic
        case "itemknn": return .variant(model)
        default:
            let (name, version) = ExperimentRules.trainedModel(model)
            if let inUse = catalogue.servingModel, inUse.name == name, version == nil || version == inUse.version { return .automatic }
            return .variant(model)
        }
    }

    /// Loads what the running experiments' variants need and the engine does not serve itself;
    /// drops rankers no running experiment names. Called with every refresh of the experiments.
    func prepareVariantRankers(for running: [Experiment]) async throws {
        var needed = Set<String>()
        for experiment in running {
            for variant in experiment.variants {
                if case .variant(let model) = choice(forVariant: variant.model) { needed.insert(model) }
            }
        }
        variantRankers.keep(only: needed)
        for model in needed where !variantRankers.contains(model) {
            // One that cannot be loaded is served by the engine's own model meanwhile (the list's
            // `model` says which); the next refresh tries again.
            do { try await loadVariantRanker(model) } catch { continue }
        }
    }

    private func loadVariantRanker(_ model: String) async throws {
        do {
            if model == "itemknn" {
                let log = try await store.interactionLog()
                let knn = try await lanes.models.run {
                    var knn = ItemKNNRecommender()
                    try knn.fit(ShopperHistories(log: log))
                    return knn
                }
                let index = Dictionary(log.productKeys.enumerated().map { ($1, Int32($0)) }) { first, _ in first }
                variantRankers.install(.itemKNN(knn, productIndex: index, productKeys: log.productKeys), for: model)
            } else {
                let (name, version) = ExperimentRules.trainedModel(model)
                guard let stored = try await store.model(named: name, version: version) else { return }
                let (ids, vectors, dimension) = catalogue.read { view in
                    (view.products.map(\.id), Array(view.vectors), view.dimension)
                }
                let loaded = try await lanes.models.run {
                    try ServingModel(stored, productIDs: ids, vectors: vectors, lmDimension: dimension)
                }
                variantRankers.install(.trained(loaded, table: loaded.recommender.productTable), for: model)
            }
        }
    }

    /// The variant ranker's top rows for a history (rows in catalogue order), filtered as the request says.
    static func variantTopK(_ ranker: VariantRanker, historyRows: [Int], weights: [Float], timestamps: [Int64], k: Int, excluded: Set<Int>,
                            request: RecommendationRequest, view: LiveCatalogue.View) -> [(row: Int, score: Float)] {
        var scores = [Float](repeating: -.infinity, count: view.rowCount)
        switch ranker {
        case .trained(let model, let table):
            let d = model.dimension
            let known = table.count / d
            func representation(_ row: Int) -> ArraySlice<Float> {
                if row < known { return table[(row * d)..<((row + 1) * d)] }
                return model.recommender.representations(languageModelVectors: Array(view.vector(row)), modelIndices: [nil])[...]
            }
            let used = historyRows.suffix(model.recommender.configuration.maxLength)
            var inputs: [Float] = []
            inputs.reserveCapacity(used.count * d)
            for row in used { inputs.append(contentsOf: representation(row)) }
            let state = model.recommender.shopperState(representations: inputs, count: used.count)
            scores.withUnsafeMutableBufferPointer { out in
                table.withUnsafeBufferPointer { a in
                    state.withUnsafeBufferPointer { x in
                        BLAS.sgemv(m: min(known, view.rowCount), n: d, a: a.baseAddress!, lda: d, x: x.baseAddress!, y: out.baseAddress!)
                    }
                }
            }
            // Products added since it was loaded: from their text.
            if known < view.rowCount {
                for row in known..<view.rowCount { scores[row] = Kernels.dot(representation(row), state[...]) }
            }
        case .itemKNN(let knn, let productIndex, let productKeys):
            var products: [Int32] = [], kept: [Float] = [], times: [Int64] = []
            for (i, row) in historyRows.enumerated() {
                guard let index = productIndex[view.products[row].id] else { continue }
                products.append(index)
                kept.append(weights[i])
                times.append(timestamps[i])
            }
            var logScores = [Float](repeating: 0, count: productKeys.count)
            if !products.isEmpty {
                let history = ShopperHistory(shopper: 0, products: products[...], eventWeights: kept[...], timestamps: times[...])
                logScores.withUnsafeMutableBufferPointer { knn.scores(for: history, into: $0) }
            }
            for (index, key) in productKeys.enumerated() {
                if let row = view.rows[key] { scores[row] = logScores[index] }
            }
            // Products it never saw: below every scored one, still recommendable.
            for row in 0..<view.rowCount where scores[row] == -.infinity { scores[row] = -1 }
        }
        return topK(scores: scores, k: k, excluded: excluded, request: request, view: view)
    }
}
