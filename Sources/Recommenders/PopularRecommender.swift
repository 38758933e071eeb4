import CuratorCore

/// How popular each product is: the sum over its events of `EventType.weight` (a view 1, a
/// click 1.5, a favourite 2.5, a cart 3, a purchase 4).
///
/// The one definition, used by the evaluated `popular` model, the list served to shoppers
/// without history and the storefront's catalogue order, so what `curator evaluate` measures
/// is what shoppers get. Chosen over a plain event count deliberately, but not for accuracy:
/// on amazon-beauty and online-retail every event is a purchase, so both definitions give the
/// same ranking (the weighted one is 4 × the count); on the synthetic sample shop (2,000
/// products, 3,000 shoppers, 65% views) the top 20 are the same products and NDCG@50 moves by
/// at most 0.0005. Weighting lets a shop's strong signals (carts, purchases) outrank idle
/// views, which matters most where popularity is all there is: a shopper's first visit.
///
/// An event counts once: a re-sent duplicate, which the store ignores, must not be added again.
public struct Popularity: Sendable, Equatable {
    /// One score per product index.
    public private(set) var scores: [Float]

    public init(productCount: Int) {
        scores = [Float](repeating: 0, count: productCount)
    }

    /// Popularity over every event of `histories` (whose `eventWeights` are `EventType.weight`).
    public init(_ histories: ShopperHistories) {
        var scores = [Float](repeating: 0, count: histories.productCount)
        scores.withUnsafeMutableBufferPointer { s in
            histories.products.withUnsafeBufferPointer { products in
                histories.eventWeights.withUnsafeBufferPointer { weights in
                    for i in 0..<products.count { s[Int(products[i])] += weights[i] }
                }
            }
        }
        self.scores = scores
    }

    /// Adds `count` events of `type` on the product at `index`.
    public mutating func add(_ type: EventType, count: Int = 1, toProductAt index: Int) {
        scores[index] += type.weight * Float(count)
    }

    /// A new product, with no events yet.
    public mutating func appendProduct() {
        scores.append(0)
    }
}

/// Recommends what is popular (see `Popularity`), the same list for everyone.
///
/// The floor every personalised model must beat.
public struct PopularRecommender: Recommender {
    /// After `fit`.
    public private(set) var popularity = Popularity(productCount: 0)

    public init() {}

    public var name: String { "popular" }

    public mutating func fit(_ training: ShopperHistories) throws {
        popularity = Popularity(training)
    }

    public func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count == popularity.scores.count, "fit on a log with the same products first")
        popularity.scores.withUnsafeBufferPointer { p in
            _ = scores.update(fromContentsOf: p)
        }
    }
}
