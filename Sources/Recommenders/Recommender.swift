import CuratorCore
import Linear

/// A model that scores every product for a shopper from their history.
///
/// Scoring writes into a caller-owned buffer instead of returning an array, so the
/// evaluator can rank 20k shoppers × 12k products without allocating per shopper.
/// Higher is better; only the order within one shopper matters. Models are values:
/// configure one, `fit` it, then share it across threads (scoring must not mutate).
public protocol Recommender: Sendable {
    /// Short name for reports, e.g. "popular" or "itemknn".
    var name: String { get }

    /// The split part this model's training watched to decide when to stop (nil: none).
    /// Figures measured on that part are optimistic, since the model was chosen on it.
    var earlyStoppingPart: SplitPart? { get }

    /// Learns from the training histories (a no-op for models that need no training).
    mutating func fit(_ training: ShopperHistories) throws

    /// Writes one score per product into `scores` (`scores.count` is the product count).
    func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>)

    /// Scores several shoppers at once, row-major: row `i` (`productCount` floats)
    /// belongs to `histories[i]`. Dot-product models override this with one matrix
    /// product; the default scores row by row.
    func scores(for histories: [ShopperHistory], productCount: Int, into scores: UnsafeMutableBufferPointer<Float>)
}

extension Recommender {
    public var earlyStoppingPart: SplitPart? { nil }

    public func scores(for histories: [ShopperHistory], productCount: Int, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count >= histories.count * productCount)
        for (row, history) in histories.enumerated() {
            let rowBuffer = UnsafeMutableBufferPointer(rebasing: scores[(row * productCount)..<((row + 1) * productCount)])
            self.scores(for: history, into: rowBuffer)
        }
    }

    /// The best `k` products for a shopper that are not in their history: for serving and
    /// for reading results by hand. Allocates; the evaluator uses its own buffers.
    public func recommend(for history: ShopperHistory, productCount: Int, k: Int) -> [Int32] {
        var scores = [Float](repeating: 0, count: productCount)
        scores.withUnsafeMutableBufferPointer { self.scores(for: history, into: $0) }
        var selector = TopKSelector(k: k, itemCount: productCount)
        var result: [Int32] = []
        scores.withUnsafeBufferPointer { selector.select(scores: $0, excluding: history.products, into: &result) }
        return result
    }
}
