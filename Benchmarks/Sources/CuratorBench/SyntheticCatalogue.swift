import CuratorCore
import CuratorEngine
import Foundation
import Storage

/// Product vectors for a benchmark's large catalogue without encoding every product: the language
/// model encodes one text per department and kind, and each product gets its kind's vector plus
/// noise (the same text, the same vector, as the model would give). Stored in the embedding cache as
/// `curator embed` would store them, so a server starts on them as on a real catalogue.
enum SyntheticCatalogue {
    /// The vectors of the store's live products in `allProducts()` order (row-major), cached in the store.
    static func embed(_ store: any CuratorStoring, with embedding: CatalogueEmbedding) async throws -> [Float] {
        let encoder = embedding.encoder
        let catalogue = try await store.allProducts().map(\.product)
        let categories = Array(Set(catalogue.map(\.category))).sorted()
        let prototypes = encoder.encodeMatrix(categories, role: .passage)
        let categoryRow = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        let d = encoder.dimension
        let texts = catalogue.map { embedding.template.render($0) }
        var byText: [String: [Float]] = [:]
        var vectors = [Float](repeating: 0, count: catalogue.count * d)
        for (i, product) in catalogue.enumerated() {
            if byText[texts[i]] == nil {
                var rng = SeededGenerator(seed: UInt64(StoreDigest.text(texts[i]).prefix(16), radix: 16) ?? 0)
                let prototype = prototypes[categoryRow[product.category]!]
                var vector = [Float](repeating: 0, count: d)
                var norm: Float = 0
                for c in 0..<d {
                    vector[c] = prototype[prototype.startIndex + c] + Float.random(in: -1...1, using: &rng) * 0.06
                    norm += vector[c] * vector[c]
                }
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
}
