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
/// And a shopper counts at most once per product, event type and UTC day (`countsOnce`): one
/// identity posting the same purchase ten thousand times moves a product as much as one purchase.
public struct Popularity: Sendable, Equatable {
    /// One score per product index.
    public private(set) var scores: [Float]

    public init(productCount: Int) {
        scores = [Float](repeating: 0, count: productCount)
    }

    /// Popularity over the events of `histories` (whose `eventWeights` are `EventType.weight`, one
    /// per type), each shopper's repeats of a product and type within a UTC day counted once.
    public init(_ histories: ShopperHistories) {
        var scores = [Float](repeating: 0, count: histories.productCount)
        var counted = Set<CountedOnce>()
        for shopper in 0..<histories.shopperCount {
            counted.removeAll(keepingCapacity: true)
            for i in histories.offsets[shopper]..<histories.offsets[shopper + 1] {
                let weight = histories.eventWeights[i]
                let key = CountedOnce(product: histories.products[i], weight: weight.bitPattern, day: Timestamps.day(ofMillis: histories.timestamps[i]))
                if counted.insert(key).inserted { scores[Int(histories.products[i])] += weight }
            }
        }
        self.scores = scores
    }

    /// What a shopper's event is counted once per: product, type (by its weight) and day.
    private struct CountedOnce: Hashable {
        var product: Int32
        var weight: UInt32
        var day: Int64
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
