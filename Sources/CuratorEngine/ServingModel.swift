import CuratorCore
import Foundation
import Recommenders
import Storage

/// A trained model (`sequential` or `two-tower`) loaded for the catalogue's products: what the
/// server scores with, what `curator evaluate` measures and what `curator train` reads back to
/// check its save. Every saved model is loaded through here, so all three see the same model.
public struct ServingModel: Sendable {
    public let name: String
    public let version: Int
    public let createdAtMillis: Int64
    /// How it was trained (split, early-stopping part).
    public let training: TrainingRecord
    /// Whether the store's events and products are still those it was trained on.
    public let trainedOnCurrentData: Bool
    let recommender: NeuralRecommender
    /// Catalogue rows below this are the products the model was loaded with, in the same order,
    /// so their id embeddings apply; later rows are represented from their text alone.
    let knownRows: Int

    var dimension: Int { recommender.configuration.dimension }

    /// The learned models the engine can serve, newest first when several are saved.
    public static let servableNames = ["sequential", "two-tower"]

    /// Rebuilds a saved model for the catalogue's products (ids and language-model vectors in row order).
    /// - Parameter currentDataFingerprint: `CuratorStoring.dataFingerprint()` now, if known.
    public init(_ stored: StoredModel, productIDs: [String], vectors: [Float], lmDimension: Int,
                currentDataFingerprint: String? = nil) throws {
        guard let payload = stored.payload else { throw CuratorError.model("\(stored.name) v\(stored.version) has no saved weights") }
        name = stored.name
        version = stored.version
        createdAtMillis = stored.createdAtMillis
        training = TrainingRecord(metricsJSON: stored.metrics)
        trainedOnCurrentData = currentDataFingerprint.map { $0 == stored.dataFingerprint } ?? true
        var recommender = try NeuralRecommender(payload: payload, productKeys: productIDs, productVectors: vectors, lmDimension: lmDimension)
        recommender.earlyStoppingPart = training.earlyStoppingPart
        self.recommender = recommender
        knownRows = productIDs.count
    }

    /// Loads version `version` of `name` (nil: the newest) from the store.
    public static func load(named name: String, version: Int? = nil, from store: any TrainingStore,
                            productIDs: [String], vectors: [Float], lmDimension: Int) async throws -> ServingModel {
        guard let stored = try await store.model(named: name, version: version) else {
            throw CuratorError.notFound(what: "trained model '\(name)'\(version.map { " version \($0)" } ?? "") (train one with: curator train --model \(name))")
        }
        return try ServingModel(stored, productIDs: productIDs, vectors: vectors, lmDimension: lmDimension,
                                currentDataFingerprint: try await store.dataFingerprint())
    }

    /// The newest saved version among the servable models trained over the store's current
    /// language model, without its weights.
    public static func latest(in store: any TrainingStore & EmbeddingStore) async throws -> StoredModel? {
        let languageModel = try await store.languageModel()
        return try await store.models()
            .filter { servableNames.contains($0.name) && TrainingRecord(metricsJSON: $0.metrics).fits(languageModel: languageModel) }
            .max { ($0.createdAtMillis, $0.version) < ($1.createdAtMillis, $1.version) }
    }
}
