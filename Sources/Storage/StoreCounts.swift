import CuratorCore
import GRDB

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

extension CuratorStore {
    public func statistics() throws -> StoreStatistics {
        try read { db in
            let shoppers = try Int.fetchOne(db, sql: "SELECT count(*) FROM shoppers") ?? 0
            let products = try Int.fetchOne(db, sql: "SELECT count(*) FROM products WHERE deleted = 0") ?? 0
            let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            var byType: [String: Int] = [:]
            for type in EventType.allCases { byType[type.rawValue] = 0 }
            for row in try Row.fetchAll(db, sql: "SELECT type, count(*) AS n FROM events GROUP BY type") {
                if let type = EventType(code: row["type"]) { byType[type.rawValue] = row["n"] }
            }
            let pairs = try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT DISTINCT shopper_id, product_id FROM events)") ?? 0
            let lengths = try Int.fetchAll(db, sql: "SELECT count(*) AS n FROM events GROUP BY shopper_id ORDER BY n")
            let range = try Row.fetchOne(db, sql: "SELECT min(ts) AS a, max(ts) AS b FROM events")
            return StoreStatistics(shoppers: shoppers, products: products, events: events, eventsByType: byType, shopperProductPairs: pairs,
                                   historyLengths: lengths, firstEventMillis: range?["a"], lastEventMillis: range?["b"])
        }
    }
}

extension StoreStatistics {
    /// The figures from the counts every store reads the same way (one definition of density
    /// and of the history percentiles for both stores).
    /// - Parameter historyLengths: events per shopper who has any, ascending.
    public init(shoppers: Int, products: Int, events: Int, eventsByType: [String: Int], shopperProductPairs pairs: Int,
                historyLengths lengths: [Int], firstEventMillis first: Int64?, lastEventMillis last: Int64?) {
        func percentile(_ p: Double) -> Int {
            guard !lengths.isEmpty else { return 0 }
            let index = min(lengths.count - 1, Int((p * Double(lengths.count - 1)).rounded()))
            return lengths[index]
        }
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
