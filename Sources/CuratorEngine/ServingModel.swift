import CuratorCore
import Foundation
import Recommenders
import Storage

/// A trained model (`sequential` or `two-tower`) as the engine serves it.
public struct ServingModel: Sendable {
    public let name: String
    public let version: Int
    public let createdAtMillis: Int64
    let recommender: NeuralRecommender
    /// Catalogue rows below this are the products the model was loaded with, in the same order,
    /// so their id embeddings apply; later rows are represented from their text alone.
    let knownRows: Int

    var dimension: Int { recommender.configuration.dimension }

    /// The learned models the engine can serve, newest first when several are saved.
    public static let servableNames = ["sequential", "two-tower"]

    /// Rebuilds a saved model for the catalogue's products (ids and language-model vectors in row order).
    public init(_ stored: StoredModel, productIDs: [String], vectors: [Float], lmDimension: Int) throws {
        guard let payload = stored.payload else { throw CuratorError.model("\(stored.name) v\(stored.version) has no saved weights") }
        name = stored.name
        version = stored.version
        createdAtMillis = stored.createdAtMillis
        recommender = try NeuralRecommender(payload: payload, productKeys: productIDs, productVectors: vectors, lmDimension: lmDimension)
        knownRows = productIDs.count
    }

    /// The newest saved version among the servable models, without its weights.
    public static func latest(in store: CuratorStore) throws -> StoredModel? {
        try store.models().filter { servableNames.contains($0.name) }
            .max { ($0.createdAtMillis, $0.version) < ($1.createdAtMillis, $1.version) }
    }
}
