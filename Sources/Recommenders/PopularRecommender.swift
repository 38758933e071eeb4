import CuratorCore
import Foundation

/// Recommends what most shoppers interacted with, the same list for everyone.
///
/// The floor every personalised model must beat. With a half-life, each event counts
/// 0.5^(age / half-life), age measured from the newest training event, so the list
/// follows what is popular now rather than over the whole log.
public struct PopularRecommender: Recommender {
    public var recencyHalfLifeDays: Double?
    /// Weighted interaction count per product, after `fit`.
    public private(set) var popularity: [Float] = []

    public init(recencyHalfLifeDays: Double? = nil) {
        precondition(recencyHalfLifeDays.map { $0 > 0 } ?? true, "half-life must be positive")
        self.recencyHalfLifeDays = recencyHalfLifeDays
    }

    public var name: String { "popular" }

    public mutating func fit(_ training: ShopperHistories) throws {
        var counts = [Double](repeating: 0, count: training.productCount)
        let newest = training.timestamps.max() ?? 0
        let millisPerDay = 86_400_000.0
        counts.withUnsafeMutableBufferPointer { c in
            training.products.withUnsafeBufferPointer { products in
                training.timestamps.withUnsafeBufferPointer { times in
                    if let halfLife = recencyHalfLifeDays {
                        let rate = -1 / (halfLife * millisPerDay)
                        for i in 0..<products.count {
                            c[Int(products[i])] += exp2(Double(newest - times[i]) * rate)
                        }
                    } else {
                        for p in products { c[Int(p)] += 1 }
                    }
                }
            }
        }
        popularity = counts.map { Float($0) }
    }

    public func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count == popularity.count, "fit on a log with the same products first")
        popularity.withUnsafeBufferPointer { p in
            _ = scores.update(fromContentsOf: p)
        }
    }
}
