import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Linear
import Recommenders
import Storage
import Stores
import TextModels

/// Measures how a shopper's history should meet the language model when the model tells
/// queries from passages (multilingual-e5's `query: ` / `passage: `): the semantic model on a
/// saved split, three ways. Served today: the history's product (passage) vectors, averaged.
struct BenchHistoryRole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history-role",
        abstract: "Compare passage vectors, query vectors and one query text for shopper histories (semantic model, full ranking).",
        discussion: """
            On the store's recorded language model and a saved split: (1) the weighted mean of the history's \
            product vectors, encoded as passages like every product (what recommendations and `viewed` lists \
            use); (2) the same mean over the history's products encoded again as queries; (3) the titles of the \
            newest history products joined into one text, encoded as a query. Candidates are always passages.
            """)

    @Option(help: "The store: a SQLite file or postgres://… (default: $CURATOR_STORE or ./curator.sqlite).") var store: String?
    @Option(help: "The saved split.") var split = "loo"
    @Option(help: "The part to evaluate: validation or test.") var part = "test"
    @Option(help: "Newest history titles in the one-text query (3).") var titles = 10

    func run() async throws {
        do {
            let curatorStore = try await Stores.open(Stores.defaultLocation(explicit: store))
            let embedding = try await CatalogueEmbedding.open(store: curatorStore, model: nil)
            let encoder = embedding.encoder
            let loaded = try await LoadedSplit.load(named: split, from: curatorStore)
            guard let part = SplitPart(rawValue: part) else { throw CuratorError.configuration("--part must be validation or test") }
            let set = EvaluationSet(split: loaded.data, part: part)
            let products = try await curatorStore.allProducts().map(\.product)
            guard products.count == loaded.data.log.productCount else {
                throw CuratorError.model("the store has \(products.count) products but split '\(split)' has \(loaded.data.log.productCount); run curator split again")
            }
            let d = encoder.dimension
            print("\(encoder.modelID): \(products.count) products, \(set.shoppers.count) \(part.rawValue) shoppers of split '\(split)'")

            var start = Date()
            let passages = try await embedding.vectors(for: products).flatMap { $0 }
            print(String(format: "passage vectors (cached or encoded): %.1f s", Date().timeIntervalSince(start)))
            start = Date()
            let texts = products.map { embedding.template.render($0) }
            let queries = encoder.encodeMatrix(texts, role: .query).values
            print(String(format: "query vectors of every product text: %.1f s", Date().timeIntervalSince(start)))
            start = Date()
            let historyTexts = set.shoppers.map { shopper -> String in
                set.histories[Int(shopper)].products.suffix(titles).reversed().map { products[Int($0)].title }.joined(separator: "; ")
            }
            let shopperQueries = encoder.encodeMatrix(historyTexts, role: .query)
            print(String(format: "one query text per shopper (newest %d titles): %.1f s", titles, Date().timeIntervalSince(start)))

            var rows: [(String, EvaluationReport)] = []
            let evaluator = Evaluator()
            var passageMean = SemanticRecommender(productVectors: passages, dimension: d)
            try passageMean.fit(set.histories)
            rows.append(("passage vectors, mean (served)", evaluator.evaluate(passageMean, on: set).report))
            var queryMean = SemanticRecommender(productVectors: passages, dimension: d, historyVectors: queries)
            try queryMean.fit(set.histories)
            rows.append(("query vectors, mean", evaluator.evaluate(queryMean, on: set).report))
            var rowOf = [Int32](repeating: -1, count: set.histories.shopperCount)
            for (row, shopper) in set.shoppers.enumerated() { rowOf[Int(shopper)] = Int32(row) }
            let oneText = ShopperQueryRecommender(productVectors: passages, dimension: d, shopperVectors: shopperQueries.values, rowOf: rowOf)
            rows.append(("one query text (\(titles) titles)", evaluator.evaluate(oneText, on: set).report))

            print("history as".padding(toLength: 34, withPad: " ", startingAt: 0) + "ndcg@10   recall@10  mrr@10")
            for (name, report) in rows {
                print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
                      + String(format: "%.4f    %.4f     %.4f", report["ndcg@10"] ?? 0, report["recall@10"] ?? 0, report["mrr@10"] ?? 0))
            }
        } catch {
            throw fail(error)
        }
    }
}

/// Scores with a vector per evaluated shopper computed beforehand (one encoded text each).
private struct ShopperQueryRecommender: Recommender {
    let productVectors: [Float]
    let dimension: Int
    let shopperVectors: [Float]
    /// Row of `shopperVectors` per shopper index; -1 for shoppers not evaluated.
    let rowOf: [Int32]

    var name: String { "history-query" }
    func fit(_ training: ShopperHistories) throws {}

    func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        let row = Int(rowOf[Int(history.shopper)])
        guard row >= 0 else { scores.update(repeating: 0); return }
        productVectors.withUnsafeBufferPointer { p in
            shopperVectors.withUnsafeBufferPointer { s in
                BLAS.sgemv(m: scores.count, n: dimension, a: p.baseAddress!, lda: dimension,
                           x: s.baseAddress! + row * dimension, y: scores.baseAddress!)
            }
        }
    }
}
