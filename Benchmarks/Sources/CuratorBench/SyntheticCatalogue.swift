import CuratorCore
import CuratorEngine
import Foundation
import Storage

/// Product vectors for a benchmark's large catalogue without encoding every product: the language
/// model encodes one text per category (the categories' centres), and each product's text gets a
/// vector near its category's, shaped as text embeddings are: the centre, plus a point in a
/// 16-dimensional subspace of the category's own, plus a little noise in every dimension
/// (`SyntheticEmbeddings`' recipe: a low intrinsic dimension, as real embeddings have, where
/// uniform noise would make the nearest neighbours an arbitrary pick). The same text gives the
/// same vector, as the model would. Stored in the embedding cache as `curator embed` would store
/// them, so a server starts on them as on a real catalogue.
enum SyntheticCatalogue {
    static let subspaceDimension = 16
    static let subspaceScale: Float = 0.7
    static let noiseScale: Float = 0.25

    /// The vectors of the store's live products in `allProducts()` order (row-major), cached in the store.
    static func embed(_ store: any CuratorStoring, with embedding: CatalogueEmbedding) async throws -> [Float] {
        let encoder = embedding.encoder
        let catalogue = try await store.allProducts().map(\.product)
        let categories = Array(Set(catalogue.map(\.category))).sorted()
        let prototypes = encoder.encodeMatrix(categories, role: .passage)
        let categoryRow = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        let d = encoder.dimension, r = subspaceDimension
        // Each category's subspace: r random directions of length about 1.
        var bases = [Float](repeating: 0, count: categories.count * r * d)
        var basisGenerator = SeededGenerator(seed: 29)
        for i in bases.indices { bases[i] = gaussian(&basisGenerator) / Float(d).squareRoot() }
        let texts = catalogue.map { embedding.template.render($0) }
        var byText: [String: [Float]] = [:]
        var vectors = [Float](repeating: 0, count: catalogue.count * d)
        var vector = [Float](repeating: 0, count: d)
        for (i, product) in catalogue.enumerated() {
            if byText[texts[i]] == nil {
                var rng = SeededGenerator(seed: UInt64(StoreDigest.text(texts[i]).prefix(16), radix: 16) ?? 0)
                let c = categoryRow[product.category]!
                let prototype = prototypes[c]
                for t in 0..<d { vector[t] = prototype[prototype.startIndex + t] + gaussian(&rng) * noiseScale / Float(d).squareRoot() }
                for j in 0..<r {
                    let z = gaussian(&rng) * subspaceScale / Float(r).squareRoot()
                    let offset = (c * r + j) * d
                    for t in 0..<d { vector[t] += z * bases[offset + t] }
                }
                var norm: Float = 0
                for t in 0..<d { norm += vector[t] * vector[t] }
                let scale = 1 / norm.squareRoot()
                byText[texts[i]] = vector.map { $0 * scale }
            }
            vectors.replaceSubrange((i * d)..<((i + 1) * d), with: byText[texts[i]]!)
        }
        try await store.saveEmbeddings(modelID: encoder.modelID, texts.enumerated().map { (i, text) in
            (StoreDigest.text(text), Array(vectors[(i * d)..<((i + 1) * d)]))
        })
        return vectors
    }

    private static func gaussian(_ rng: inout SeededGenerator) -> Float {
        // Box–Muller.
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), .leastNonzeroMagnitude)
        let u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}
