import CuratorCore
import Foundation
import Recommenders
import Storage

/// A saved split with the product vectors, ready for training (`curator train` and `tune`).
public struct TrainingData: Sendable {
    public let split: LoadedSplit
    /// What the model learns from: the split's train part.
    public let training: ShopperHistories
    /// What early stopping watches: the validation part.
    public let validation: EvaluationSet
    /// The language-model vector of every product, in `productKeys` order.
    public let vectors: [Float]
    public let dimension: Int
    /// `CuratorStoring.dataFingerprint()` when the data was read.
    public let dataFingerprint: String

    public var productKeys: [String] { split.data.log.productKeys }

    /// - Parameter vectors: the language-model vector of every live product in
    ///   `CuratorStoring.allProducts()` order (`CatalogueEmbedding.upToDateVectors`), asked for once.
    public static func load(from store: any CuratorStoring, split name: String,
                            vectors: () async throws -> (vectors: [Float], dimension: Int)) async throws -> TrainingData {
        let split = try await LoadedSplit.load(named: name, from: store)
        let (productVectors, dimension) = try await vectors()
        let fingerprint = try await store.dataFingerprint()
        return TrainingData(split: split, training: split.data.trainingHistories,
                            validation: EvaluationSet(split: split.data, part: .validation),
                            vectors: productVectors, dimension: dimension, dataFingerprint: fingerprint)
    }

    /// A new, untrained model over these products.
    public func makeModel(_ configuration: NeuralConfiguration) throws -> NeuralRecommender {
        try NeuralRecommender(configuration: configuration, productCount: productKeys.count, productVectors: vectors, lmDimension: dimension)
    }

    /// Saves a model trained on this data as the next version of its name, with what it was
    /// trained on (split, early-stopping part) so evaluation can hold it to that split; then
    /// reads it back through `ServingModel`, as `curator evaluate` and the server will, and
    /// checks that it scores exactly as before. Returns the version.
    /// - Parameter extraMetrics: further figures to keep with it (test metrics, trials).
    public func save(_ model: NeuralRecommender, summary: TrainingSummary, extraMetrics: [String: Double] = [:],
                     in store: any CuratorStoring) async throws -> Int {
        let record = TrainingRecord(splitName: split.name, splitFingerprint: split.fingerprint, earlyStoppingPart: model.earlyStoppingPart,
                                    languageModel: try await store.languageModel())
        var metrics = ModelMetrics(validationNDCG10: summary.bestValidationNDCG ?? 0, bestEpoch: summary.bestEpoch,
                                   epochs: summary.epochs.count, trainingSeconds: summary.seconds, extra: extraMetrics)
        record.record(into: &metrics)
        let version = try await store.saveModel(StoredModel(
            name: model.name, dataFingerprint: dataFingerprint, parameters: try CuratorJSON.text(model.configuration),
            metrics: try CuratorJSON.text(metrics), payload: try model.serialized(productKeys: productKeys)))

        let reloaded = try await ServingModel.load(named: model.name, version: version, from: store, productIDs: productKeys,
                                             vectors: vectors, lmDimension: dimension)
        let sample = validation.shoppers.prefix(64).map { validation.histories[Int($0)] }
        let n = productKeys.count
        var before = [Float](repeating: 0, count: sample.count * n), after = before
        before.withUnsafeMutableBufferPointer { model.scores(for: sample, productCount: n, into: $0) }
        after.withUnsafeMutableBufferPointer { reloaded.recommender.scores(for: sample, productCount: n, into: $0) }
        guard before == after else {
            throw CuratorError.model("the saved \(model.name) version \(version) scores differently after loading")
        }
        return version
    }
}
