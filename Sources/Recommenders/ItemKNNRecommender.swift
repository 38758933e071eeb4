import CuratorCore
import Dispatch
import Foundation
import Linear

/// Item-to-item collaborative filtering: "shoppers who bought this also bought".
///
/// Fit: for every product pair, the cosine of their shopper sets,
/// co(i, j) / (√n(i) · √n(j) + shrink), where n counts distinct shoppers and co the
/// shoppers with both; only each product's `neighbourCount` most similar products
/// are kept, so the model is a sparse row per product and scoring stays cheap.
/// Score: Σ over history events h of weight(h) · sim(h, j), where weight is the
/// event's `EventType.weight` times a recency decay over position, because the most
/// recent purchases predict the next one best.
///
/// The defaults (100 neighbours, shrink 5, half-life 2 positions) were the best of a
/// small grid on the amazon-beauty validation part (NDCG@10 0.051 vs 0.039 for
/// 100 / 0 / no decay); more neighbours gained under 2% and cost memory per product.
public struct ItemKNNRecommender: Recommender {
    public var neighbourCount: Int
    /// Added to the cosine's denominator to damp similarities built on few shoppers.
    public var shrink: Float
    public var recency: RecencyDecay

    public private(set) var productCount = 0
    /// `neighbourOffsets[p]..<neighbourOffsets[p + 1]` indexes product `p`'s neighbours.
    public private(set) var neighbourOffsets: [Int] = [0]
    public private(set) var neighbours: [Int32] = []
    public private(set) var similarities: [Float] = []

    public init(neighbourCount: Int = 100, shrink: Float = 5, recency: RecencyDecay = RecencyDecay(halfLife: 2)) {
        precondition(neighbourCount > 0 && shrink >= 0)
        self.neighbourCount = neighbourCount
        self.shrink = shrink
        self.recency = recency
    }

    public var name: String { "itemknn" }

    /// Product `p`'s kept neighbours and similarities, most similar first.
    public func neighbours(of p: Int) -> (products: ArraySlice<Int32>, similarities: ArraySlice<Float>) {
        let r = neighbourOffsets[p]..<neighbourOffsets[p + 1]
        return (neighbours[r], similarities[r])
    }

    public mutating func fit(_ training: ShopperHistories) throws {
        let productCount = training.productCount
        let (shopperItems, shopperOffsets) = Self.distinctItems(training)
        let (itemShoppers, itemOffsets) = Self.invert(shopperItems, shopperOffsets, productCount: productCount)

        // Each worker takes a contiguous block of products and builds their rows with
        // its own dense accumulator; blocks are concatenated in order, so the result
        // does not depend on scheduling.
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, productCount / 64 + 1))
        let blocks = (0..<workers).map { w in (w * productCount / workers)..<((w + 1) * productCount / workers) }
        let config = (k: neighbourCount, shrink: shrink)
        let results = UnsafeMutableBufferPointer<Row>.allocate(capacity: workers)
        results.initialize(repeating: Row())
        defer { results.deinitialize().deallocate() }
        let sendableResults = UnsafeSendable(results)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            sendableResults.value[w] = Self.buildRows(
                products: blocks[w], k: config.k, shrink: config.shrink, productCount: productCount,
                shopperItems: shopperItems, shopperOffsets: shopperOffsets,
                itemShoppers: itemShoppers, itemOffsets: itemOffsets)
        }
        var offsets = [0]
        offsets.reserveCapacity(productCount + 1)
        var neighbours: [Int32] = []
        var similarities: [Float] = []
        for row in results {
            for count in row.counts { offsets.append(offsets.last! + count) }
            neighbours.append(contentsOf: row.neighbours)
            similarities.append(contentsOf: row.similarities)
        }
        self.productCount = productCount
        self.neighbourOffsets = offsets
        self.neighbours = neighbours
        self.similarities = similarities
    }

    public func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(scores.count == productCount, "fit on a log with the same products first")
        scores.update(repeating: 0)
        neighbourOffsets.withUnsafeBufferPointer { offsets in
            neighbours.withUnsafeBufferPointer { nb in
                similarities.withUnsafeBufferPointer { sim in
                    history.products.withUnsafeBufferPointer { products in
                        recency.forEachWeighted(history) { i, weight in
                            let p = Int(products[i])
                            precondition(p < productCount, "history product \(p) is outside the fitted catalogue")
                            for e in offsets[p]..<offsets[p + 1] {
                                scores[Int(nb[e])] += weight * sim[e]
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Fitting

    /// Neighbour rows for a block of products.
    private struct Row {
        var counts: [Int] = []
        var neighbours: [Int32] = []
        var similarities: [Float] = []
    }

    /// Each shopper's distinct products (CSR), since cosine counts shoppers, not events.
    private static func distinctItems(_ h: ShopperHistories) -> ([Int32], [Int]) {
        var items: [Int32] = []
        items.reserveCapacity(h.eventCount)
        var offsets = [0]
        offsets.reserveCapacity(h.shopperCount + 1)
        var seen = [Int32](repeating: -1, count: h.productCount)
        for s in 0..<h.shopperCount {
            for i in h.range(of: s) {
                let p = h.products[i]
                if seen[Int(p)] != Int32(s) {
                    seen[Int(p)] = Int32(s)
                    items.append(p)
                }
            }
            offsets.append(items.count)
        }
        return (items, offsets)
    }

    /// Product → shoppers (CSR), the transpose of `distinctItems`.
    private static func invert(_ items: [Int32], _ offsets: [Int], productCount: Int) -> ([Int32], [Int]) {
        var itemOffsets = [Int](repeating: 0, count: productCount + 1)
        for p in items { itemOffsets[Int(p) + 1] += 1 }
        for p in 0..<productCount { itemOffsets[p + 1] += itemOffsets[p] }
        var cursor = itemOffsets
        var shoppers = [Int32](repeating: 0, count: items.count)
        for s in 0..<(offsets.count - 1) {
            for i in offsets[s]..<offsets[s + 1] {
                let p = Int(items[i])
                shoppers[cursor[p]] = Int32(s)
                cursor[p] += 1
            }
        }
        return (shoppers, itemOffsets)
    }

    private static func buildRows(
        products block: Range<Int>, k: Int, shrink: Float, productCount: Int,
        shopperItems: [Int32], shopperOffsets: [Int], itemShoppers: [Int32], itemOffsets: [Int]
    ) -> Row {
        var row = Row()
        row.counts.reserveCapacity(block.count)
        var coCounts = [Float](repeating: 0, count: productCount)
        var touched = [Int32]()
        touched.reserveCapacity(productCount)
        var selector = TopKSelector(k: k, itemCount: productCount)
        var best: [Int32] = []
        coCounts.withUnsafeMutableBufferPointer { co in
            shopperItems.withUnsafeBufferPointer { sItems in
                shopperOffsets.withUnsafeBufferPointer { sOff in
                    itemShoppers.withUnsafeBufferPointer { iShoppers in
                        itemOffsets.withUnsafeBufferPointer { iOff in
                            for i in block {
                                // Co-occurrence counts of i with every product sharing a shopper.
                                touched.removeAll(keepingCapacity: true)
                                for e in iOff[i]..<iOff[i + 1] {
                                    let s = Int(iShoppers[e])
                                    for f in sOff[s]..<sOff[s + 1] {
                                        let j = Int(sItems[f])
                                        if j == i { continue }
                                        if co[j] == 0 { touched.append(Int32(j)) }
                                        co[j] += 1
                                    }
                                }
                                // Counts become cosines in place, then the best k are kept.
                                let ni = Float(iOff[i + 1] - iOff[i]).squareRoot()
                                for j in touched {
                                    let nj = Float(iOff[Int(j) + 1] - iOff[Int(j)]).squareRoot()
                                    co[Int(j)] = co[Int(j)] / (ni * nj + shrink)
                                }
                                touched.withUnsafeBufferPointer { t in
                                    selector.select(scores: UnsafeBufferPointer(co), candidates: t, into: &best)
                                }
                                row.counts.append(best.count)
                                for j in best {
                                    row.neighbours.append(j)
                                    row.similarities.append(co[Int(j)])
                                }
                                for j in touched { co[Int(j)] = 0 }
                            }
                        }
                    }
                }
            }
        }
        return row
    }
}

/// Hands a buffer to `concurrentPerform` workers that write disjoint elements.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
