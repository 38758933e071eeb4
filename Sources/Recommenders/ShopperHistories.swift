import CuratorCore
import Foundation

/// One shopper's history, oldest first, as slices of a `ShopperHistories` table.
///
/// Slices share the table's storage, so handing a history to a model costs no
/// allocation; models read them with `withUnsafeBufferPointer` in their hot loops.
public struct ShopperHistory: Sendable {
    public var shopper: Int32
    /// Product indices in time order; repeats are kept (a repeat purchase is evidence too).
    public var products: ArraySlice<Int32>
    /// `EventType.weight` of each event, parallel to `products`.
    public var eventWeights: ArraySlice<Float>
    /// Milliseconds since 1970, parallel to `products`.
    public var timestamps: ArraySlice<Int64>

    public init(shopper: Int32, products: ArraySlice<Int32>, eventWeights: ArraySlice<Float>,
                timestamps: ArraySlice<Int64>) {
        precondition(products.count == eventWeights.count && products.count == timestamps.count)
        self.shopper = shopper
        self.products = products
        self.eventWeights = eventWeights
        self.timestamps = timestamps
    }

    public var count: Int { products.count }
    public var isEmpty: Bool { products.isEmpty }
}

/// Every shopper's history in one compressed-row table (offsets + flat columns).
///
/// This is what models train on and what the evaluator scores from: flat arrays
/// keep the data contiguous, and a shopper's history is a slice, not a copy.
public struct ShopperHistories: Sendable {
    public let shopperCount: Int
    public let productCount: Int
    /// `offsets[s]..<offsets[s + 1]` is shopper `s`'s range in the flat columns.
    public let offsets: [Int]
    public let products: [Int32]
    public let eventWeights: [Float]
    public let timestamps: [Int64]

    /// All of a log's interactions.
    public init(log: InteractionLog) {
        self.init(log: log, keep: nil)
    }

    /// The interactions of `log` whose index passes `keep` (all when nil), in log order.
    /// Relies on the log's (shopper, time, eventID) order, which `InteractionLog.init` sets.
    init(log: InteractionLog, keep: ((Int) -> Bool)?) {
        shopperCount = log.shopperCount
        productCount = log.productCount
        var offsets = [Int](repeating: 0, count: log.shopperCount + 1)
        var products: [Int32] = []
        var weights: [Float] = []
        var times: [Int64] = []
        products.reserveCapacity(log.interactions.count)
        weights.reserveCapacity(log.interactions.count)
        times.reserveCapacity(log.interactions.count)
        for (index, interaction) in log.interactions.enumerated() where keep?(index) ?? true {
            offsets[Int(interaction.shopper) + 1] += 1
            products.append(interaction.product)
            weights.append(interaction.type.weight)
            times.append(interaction.timestampMillis)
        }
        for s in 0..<log.shopperCount { offsets[s + 1] += offsets[s] }
        self.offsets = offsets
        self.products = products
        self.eventWeights = weights
        self.timestamps = times
    }

    /// The number of events across all shoppers.
    public var eventCount: Int { products.count }

    public func range(of shopper: Int) -> Range<Int> { offsets[shopper]..<offsets[shopper + 1] }

    public subscript(shopper: Int) -> ShopperHistory {
        let r = range(of: shopper)
        return ShopperHistory(shopper: Int32(shopper), products: products[r],
                              eventWeights: eventWeights[r], timestamps: timestamps[r])
    }
}

/// Exponential down-weighting of older history events by position from the end.
///
/// Position rather than clock time because some datasets (amazon-beauty) keep only
/// the order of events, and because a shopper's last few actions say most about
/// what they want next however long ago they were.
public struct RecencyDecay: Sendable, Hashable, Codable {
    /// Positions after which an event's weight halves; nil weighs every position equally.
    public var halfLife: Double?

    public init(halfLife: Double?) {
        precondition(halfLife.map { $0 > 0 } ?? true, "half-life must be positive")
        self.halfLife = halfLife
    }

    public static let none = RecencyDecay(halfLife: nil)

    /// The factor between one position and the next older one.
    public var stepFactor: Float {
        guard let halfLife else { return 1 }
        return Float(exp2(-1 / halfLife))
    }

    /// Weight of the event `distanceFromEnd` positions before the last one (0 = last).
    public func weight(distanceFromEnd: Int) -> Float {
        guard let halfLife else { return 1 }
        return Float(exp2(-Double(distanceFromEnd) / halfLife))
    }

    /// Calls `body(position, weight)` for each event from newest to oldest, where
    /// weight = event weight × recency weight, with one multiply per step (no `pow`).
    @inlinable
    public func forEachWeighted(_ history: ShopperHistory, _ body: (Int, Float) -> Void) {
        let step = stepFactor
        history.eventWeights.withUnsafeBufferPointer { weights in
            var recency: Float = 1
            var i = weights.count - 1
            while i >= 0 {
                body(i, weights[i] * recency)
                recency *= step
                i -= 1
            }
        }
    }
}
