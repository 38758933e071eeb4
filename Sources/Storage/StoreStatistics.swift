import CuratorCore
import Foundation

/// What is in a store, as `curator stats` reports it.
public struct StoreStatistics: Sendable, Codable, Equatable {
    public var shoppers: Int
    public var products: Int
    public var events: Int
    public var eventsByType: [String: Int]
    /// events / (shoppers × products), over distinct shopper–product pairs.
    public var density: Double
    /// Percentiles of events per shopper: p50, p90, p99 and max.
    public var historyLength: [String: Int]
    public var firstEvent: String?
    public var lastEvent: String?

    enum CodingKeys: String, CodingKey {
        case shoppers, products, events
        case eventsByType = "events_by_type"
        case density
        case historyLength = "history_length"
        case firstEvent = "first_event"
        case lastEvent = "last_event"
    }
}

extension StoreStatistics {
    /// The figures from the counts every store reads the same way (one definition of density
    /// and of the history percentiles for both stores).
    /// - Parameter historyLengths: events per shopper who has any, ascending.
    public init(shoppers: Int, products: Int, events: Int, eventsByType: [String: Int], shopperProductPairs pairs: Int,
                historyLengths lengths: [Int], firstEventMillis first: Int64?, lastEventMillis last: Int64?) {
        func percentile(_ p: Double) -> Int { Percentile.of(sorted: lengths, p) ?? 0 }
        var byType = eventsByType
        for type in EventType.allCases where byType[type.rawValue] == nil { byType[type.rawValue] = 0 }
        self.init(shoppers: shoppers, products: products, events: events, eventsByType: byType,
                  density: shoppers > 0 && products > 0 ? Double(pairs) / (Double(shoppers) * Double(products)) : 0,
                  historyLength: ["min": lengths.first ?? 0, "p50": percentile(0.5), "p90": percentile(0.9),
                                  "p99": percentile(0.99), "max": lengths.last ?? 0],
                  firstEvent: first.map(FieldParsing.iso8601(millis:)),
                  lastEvent: last.map(FieldParsing.iso8601(millis:)))
    }
}
