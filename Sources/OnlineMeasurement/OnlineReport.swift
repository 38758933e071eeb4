import CuratorCore
import Foundation

/// What one served list earned: which of its cards were seen, clicked, carted, favourited and
/// bought, and the revenue, from the events attributed to it. An event counts only for a product
/// in the list, and, on a list made for a known shopper, only when it is that shopper's; each
/// card counts once per kind (a shopper clicking one card twice is one click).
public struct ListOutcome: Sendable {
    public var list: ServedList
    public var seen: Set<Int> = []
    public var clicked: Set<Int> = []
    public var carted: Set<Int> = []
    public var favorited: Set<Int> = []
    public var purchased: Set<Int> = []
    /// Revenue by position.
    public var revenue: [Int: Double] = [:]

    public init(list: ServedList) { self.list = list }

    public var impressions: Int { list.productIDs.count }
    public var totalRevenue: Double { revenue.values.reduce(0, +) }

    /// The outcomes of every list in a slice of the log.
    public static func outcomes(of slice: OnlineLogSlice) -> [ListOutcome] {
        var outcomes: [String: ListOutcome] = [:]
        for list in slice.lists { outcomes[list.id] = ListOutcome(list: list) }
        for report in slice.seen {
            guard var outcome = outcomes[report.recommendationID] else { continue }
            for position in report.positions where position >= 1 && position <= outcome.impressions { outcome.seen.insert(position) }
            outcomes[report.recommendationID] = outcome
        }
        for event in slice.attributed {
            guard var outcome = outcomes[event.recommendationID], let position = outcome.list.position(of: event.productID) else { continue }
            if let owner = outcome.list.shopperKey, owner != event.shopperKey { continue }
            switch event.type {
            case .view: continue
            case .click: outcome.clicked.insert(position)
            case .cart: outcome.carted.insert(position)
            case .favorite: outcome.favorited.insert(position)
            case .purchase:
                outcome.purchased.insert(position)
                outcome.revenue[position, default: 0] += event.revenue
            }
            outcomes[event.recommendationID] = outcome
        }
        return slice.lists.compactMap { outcomes[$0.id] }
    }
}

/// A rate with its 95% interval.
public struct Rate: Sendable, Codable, Equatable {
    public var value: Double
    public var low: Double
    public var high: Double

    public init(value: Double, interval: OnlineStatistics.Interval) {
        self.value = value
        low = interval.low
        high = interval.high
    }
}

/// `GET /v1/metrics/online` and `curator report online`: the online figures per group.
public struct OnlineReport: Sendable, Codable, Equatable {
    public enum Grouping: String, Sendable, Codable, CaseIterable {
        case model, variant, surface, position, day

        /// `model`, or several joined by commas (`day,model`: one row per day and model).
        public static func list(_ text: String) -> [Grouping]? {
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let groupings = parts.compactMap(Grouping.init(rawValue:))
            guard !parts.isEmpty, groupings.count == parts.count, Set(groupings).count == groupings.count else { return nil }
            return groupings
        }
    }

    public struct Row: Sendable, Codable, Equatable {
        /// The row's value of each grouping, joined by " | " in `groupBy` order.
        public var group: String
        /// The row's value of each grouping, by grouping.
        public var keys: [String: String]
        public var lists: Int
        public var impressions: Int
        public var seen: Int
        public var clicks: Int
        public var carts: Int
        public var favorites: Int
        public var purchases: Int
        public var revenue: Double
        /// Attributed clicks / impressions.
        public var ctr: Rate
        /// Attributed purchases / impressions.
        public var conversion: Rate
        public var revenuePer1000Impressions: Rate

        enum CodingKeys: String, CodingKey {
            case group, keys, lists, impressions, seen, clicks, carts, favorites, purchases, revenue, ctr, conversion
            case revenuePer1000Impressions = "revenue_per_1000_impressions"
        }
    }

    public var groupBy: [Grouping]
    public var sinceMillis: Int64
    public var untilMillis: Int64
    public var rows: [Row]

    enum CodingKeys: String, CodingKey {
        case groupBy = "group_by", sinceMillis = "since_ms", untilMillis = "until_ms", rows
    }

    private struct Part {
        var impressions = 0, seen = 0, clicks = 0, carts = 0, favorites = 0, purchases = 0
        var revenue = 0.0
    }

    public init(slice: OnlineLogSlice, groupBy: [Grouping], sinceMillis: Int64, untilMillis: Int64) {
        self.groupBy = groupBy
        self.sinceMillis = sinceMillis
        self.untilMillis = untilMillis
        // Each group's part of each list: the whole list, or with `position` one card of it.
        var parts: [[String]: [Part]] = [:]
        let byCard = groupBy.contains(.position)
        for outcome in ListOutcome.outcomes(of: slice) {
            let list = outcome.list
            func key(position: Int?) -> [String] {
                groupBy.map { grouping in
                    switch grouping {
                    case .model: list.modelVersion.map { "\(list.model) v\($0)" } ?? list.model
                    case .variant: list.experiment.map { "\($0)/\(list.variant ?? "")" } ?? "(none)"
                    case .surface: list.surface.rawValue
                    case .position: String(position ?? 0)
                    case .day: String(Timestamps.format(millis: list.servedAtMillis).prefix(10))
                    }
                }
            }
            if byCard {
                for p in 1...max(1, outcome.impressions) where p <= outcome.impressions {
                    parts[key(position: p), default: []].append(Part(
                        impressions: 1, seen: outcome.seen.contains(p) ? 1 : 0, clicks: outcome.clicked.contains(p) ? 1 : 0,
                        carts: outcome.carted.contains(p) ? 1 : 0, favorites: outcome.favorited.contains(p) ? 1 : 0,
                        purchases: outcome.purchased.contains(p) ? 1 : 0, revenue: outcome.revenue[p] ?? 0))
                }
            } else {
                parts[key(position: nil), default: []].append(Part(
                    impressions: outcome.impressions, seen: outcome.seen.count, clicks: outcome.clicked.count, carts: outcome.carted.count,
                    favorites: outcome.favorited.count, purchases: outcome.purchased.count, revenue: outcome.totalRevenue))
            }
        }
        // Positions in number order, everything else as text.
        let keys = parts.keys.sorted { a, b in
            for (i, grouping) in groupBy.enumerated() where a[i] != b[i] {
                return grouping == .position ? (Int(a[i]) ?? 0) < (Int(b[i]) ?? 0) : a[i] < b[i]
            }
            return false
        }
        rows = keys.map { key in
            let lists = parts[key] ?? []
            let impressions = lists.reduce(0) { $0 + $1.impressions }
            let clicks = lists.reduce(0) { $0 + $1.clicks }, purchases = lists.reduce(0) { $0 + $1.purchases }
            let revenue = OnlineStatistics.Ratio(numerators: lists.map { $0.revenue * 1000 }, denominators: lists.map { Double($0.impressions) })
            return Row(group: key.joined(separator: " | "), keys: Dictionary(uniqueKeysWithValues: zip(groupBy.map(\.rawValue), key)), lists: lists.count,
                       impressions: impressions, seen: lists.reduce(0) { $0 + $1.seen }, clicks: clicks,
                       carts: lists.reduce(0) { $0 + $1.carts }, favorites: lists.reduce(0) { $0 + $1.favorites }, purchases: purchases,
                       revenue: lists.reduce(0) { $0 + $1.revenue },
                       ctr: Rate(value: impressions > 0 ? Double(clicks) / Double(impressions) : 0,
                                 interval: OnlineStatistics.wilson(successes: clicks, trials: impressions)),
                       conversion: Rate(value: impressions > 0 ? Double(purchases) / Double(impressions) : 0,
                                        interval: OnlineStatistics.wilson(successes: purchases, trials: impressions)),
                       revenuePer1000Impressions: Rate(value: revenue.value, interval: revenue.interval))
        }
    }
}
