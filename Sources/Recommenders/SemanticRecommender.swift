import CuratorCore
import Linear

/// Recommends products whose text is close to what the shopper already chose,
/// using product vectors from the language model; needs no interaction training,
/// so it works for products nobody has bought yet.
///
/// The shopper vector is the weighted mean of their history's product vectors, with
/// weight = `EventType.weight` × recency decay over position (a purchase says more
/// than a view, the last items more than old ones). A product's score is its dot
/// product with the shopper vector, i.e. the cosine up to a per-shopper factor that
/// does not change the ranking. Batches of shoppers are scored with one `sgemm`.
public struct SemanticRecommender: Recommender {
    public let dimension: Int
    public let productCount: Int
    /// Row-major [productCount × dimension], each row L2-normalised.
    public let productVectors: [Float]
    /// What a history item contributes to the shopper vector: the product vectors themselves,
    /// unless the same products were encoded another way (e5's `query:` role, to compare).
    public let historyVectors: [Float]
    public var recency: RecencyDecay

    /// - Parameters:
    ///   - productVectors: row-major [productCount × dimension], L2-normalised rows
    ///     (a zero row is allowed for a product without text; it then scores 0).
    ///   - historyVectors: the same shape, used for history items only (nil: `productVectors`).
    public init(productVectors: [Float], dimension: Int, historyVectors: [Float]? = nil,
                recency: RecencyDecay = RecencyDecay(halfLife: 5)) {
        precondition(dimension > 0 && productVectors.count % dimension == 0,
                     "product vectors must be productCount × dimension")
        precondition(historyVectors.map { $0.count == productVectors.count } ?? true,
                     "history vectors must have the shape of the product vectors")
        self.dimension = dimension
        self.productCount = productVectors.count / dimension
        self.productVectors = productVectors
        self.historyVectors = historyVectors ?? productVectors
        self.recency = recency
    }

    public var name: String { "semantic" }

    /// Nothing to learn: the vectors come from the language model.
    public mutating func fit(_ training: ShopperHistories) throws {
        guard training.productCount == productCount else {
            throw CuratorError.model(
                "there are \(productCount) product vectors but the log has \(training.productCount) products; embed the catalogue again")
        }
    }

    /// Writes the shopper vector (weighted mean of history vectors) into `vector`.
    public func shopperVector(for history: ShopperHistory, into vector: UnsafeMutableBufferPointer<Float>) {
        precondition(vector.count == dimension)
        vector.update(repeating: 0)
        var total: Float = 0
        let d = dimension
        historyVectors.withUnsafeBufferPointer { vectors in
            history.products.withUnsafeBufferPointer { products in
                recency.forEachWeighted(history) { i, weight in
                    let row = Int(products[i]) * d
                    for c in 0..<d { vector[c] += weight * vectors[row + c] }
                    total += weight
                }
            }
        }
        if total > 0 {
            let scale = 1 / total
            for c in 0..<d { vector[c] *= scale }
        }
    }

    public func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count == productCount)
        let vector = UnsafeMutableBufferPointer<Float>.allocate(capacity: dimension)
        defer { vector.deallocate() }
        shopperVector(for: history, into: vector)
        productVectors.withUnsafeBufferPointer { p in
            BLAS.sgemv(m: productCount, n: dimension, a: p.baseAddress!, lda: dimension,
                       x: vector.baseAddress!, y: scores.baseAddress!)
        }
    }

    /// Scores = U · Pᵀ with U the [batch × dimension] shopper vectors: one `sgemm`.
    public func scores(for histories: [ShopperHistory], productCount: Int, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(productCount == self.productCount && scores.count >= histories.count * productCount)
        guard !histories.isEmpty else { return }
        let d = dimension
        let shopperVectors = UnsafeMutableBufferPointer<Float>.allocate(capacity: histories.count * d)
        defer { shopperVectors.deallocate() }
        for (row, history) in histories.enumerated() {
            shopperVector(for: history, into: UnsafeMutableBufferPointer(rebasing: shopperVectors[(row * d)..<((row + 1) * d)]))
        }
        productVectors.withUnsafeBufferPointer { p in
            BLAS.sgemm(transposeB: true, m: histories.count, n: productCount, k: d,
                       a: shopperVectors.baseAddress!, lda: d, b: p.baseAddress!, ldb: d,
                       c: scores.baseAddress!, ldc: productCount)
        }
    }
}
