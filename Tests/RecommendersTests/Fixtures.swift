import CuratorCore
import Recommenders

/// Builds a log from (shopper, product, time) triples; event ids follow the order given,
/// so a test can make two events share a timestamp and still know which comes first.
func makeLog(shoppers: Int, products: Int, _ events: [(Int, Int, Int64)], type: EventType = .purchase) -> InteractionLog {
    let interactions = events.enumerated().map { id, e in
        InteractionLog.Interaction(shopper: Int32(e.0), product: Int32(e.1), type: type,
                                   timestampMillis: e.2, eventID: Int64(id + 1))
    }
    return InteractionLog(shopperKeys: (0..<shoppers).map { "s\($0)" },
                          productKeys: (0..<products).map { "p\($0)" }, interactions: interactions)
}

/// Builds a log where each shopper's products are listed in time order.
func makeLog(products: Int, histories: [[Int]]) -> InteractionLog {
    var events: [(Int, Int, Int64)] = []
    for (s, history) in histories.enumerated() {
        for (t, p) in history.enumerated() { events.append((s, p, Int64(t))) }
    }
    return makeLog(shoppers: histories.count, products: products, events)
}
