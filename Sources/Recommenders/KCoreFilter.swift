import CuratorCore

/// Keeps only shoppers and products with at least `minEvents` interactions each,
/// repeating until both hold at once (dropping a product can push a shopper below
/// the bar and the other way round).
///
/// Very sparse shoppers and products add noise and little signal to offline
/// comparisons, and published benchmarks (amazon-beauty is 5-core) are filtered
/// this way, so matching it keeps figures comparable. Counts are interactions,
/// repeats included. The result is re-indexed densely, keeping the original
/// relative order of shoppers and products and their keys.
public struct KCoreFilter: Sendable {
    public var minEvents: Int

    public init(minEvents: Int) {
        precondition(minEvents >= 1)
        self.minEvents = minEvents
    }

    public func apply(to log: InteractionLog) -> InteractionLog {
        var alive = [Bool](repeating: true, count: log.interactions.count)
        var shopperCounts = [Int](repeating: 0, count: log.shopperCount)
        var productCounts = [Int](repeating: 0, count: log.productCount)
        for x in log.interactions {
            shopperCounts[Int(x.shopper)] += 1
            productCounts[Int(x.product)] += 1
        }
        var changed = true
        while changed {
            changed = false
            for (i, x) in log.interactions.enumerated() where alive[i] {
                let s = Int(x.shopper), p = Int(x.product)
                if shopperCounts[s] < minEvents || productCounts[p] < minEvents {
                    alive[i] = false
                    shopperCounts[s] -= 1
                    productCounts[p] -= 1
                    changed = true
                }
            }
        }
        var shopperMap = [Int32](repeating: -1, count: log.shopperCount)
        var productMap = [Int32](repeating: -1, count: log.productCount)
        var shopperKeys: [String] = []
        var productKeys: [String] = []
        for s in 0..<log.shopperCount where shopperCounts[s] >= minEvents {
            shopperMap[s] = Int32(shopperKeys.count)
            shopperKeys.append(log.shopperKeys[s])
        }
        for p in 0..<log.productCount where productCounts[p] >= minEvents {
            productMap[p] = Int32(productKeys.count)
            productKeys.append(log.productKeys[p])
        }
        var kept: [InteractionLog.Interaction] = []
        for (i, x) in log.interactions.enumerated() where alive[i] {
            var y = x
            y.shopper = shopperMap[Int(x.shopper)]
            y.product = productMap[Int(x.product)]
            kept.append(y)
        }
        return InteractionLog(shopperKeys: shopperKeys, productKeys: productKeys, interactions: kept)
    }
}
