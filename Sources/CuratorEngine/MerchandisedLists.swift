import CuratorCore
import Foundation
import Storage
import Synchronization

/// The shop's merchandising rules as this replica holds them, with when recent products were
/// first stored (for rules over new products). Replaced whole: on a write through this replica,
/// on another replica's `.rules` change, and every second in a server (a SQLite file the CLI wrote).
final class RuleBook: Sendable {
    private struct State {
        var rules: [MerchandisingRule] = []
        /// Products first stored within the longest "new" window any rule names.
        var addedAt: [String: Int64] = [:]
        /// The same, newest first (what a boost brings into a list).
        var newest: [(productID: String, addedAtMillis: Int64)] = []
    }

    private let state = Mutex(State())

    var rules: [MerchandisingRule] { state.withLock { $0.rules } }

    func replace(rules: [MerchandisingRule], addedAt: [String: Int64]?) {
        state.withLock { state in
            state.rules = rules
            if let addedAt {
                state.addedAt = addedAt
                state.newest = addedAt.map { (productID: $0.key, addedAtMillis: $0.value) }.sorted { $0.addedAtMillis > $1.addedAtMillis }
            }
        }
    }

    /// The longest window a rule over new products names, in days; nil when none does.
    static func newProductWindowDays(_ rules: [MerchandisingRule]) -> Int? {
        rules.compactMap { rule -> Int? in
            if case .newProducts(let days) = rule.target { return days }
            return nil
        }.max()
    }

    /// Products this replica just took into its catalogue for the first time, while a rule over new products exists.
    func noteAdded(_ productIDs: [String], atMillis millis: Int64) {
        state.withLock { state in
            guard Self.newProductWindowDays(state.rules) != nil else { return }
            let added = productIDs.filter { state.addedAt[$0] == nil }
            for id in added { state.addedAt[id] = millis }
            state.newest.insert(contentsOf: added.map { (productID: $0, addedAtMillis: millis) }, at: 0)
        }
    }

    /// The rules in force on `surface` at `millis`.
    func active(on surface: Surface, atMillis millis: Int64) -> ActiveRules {
        state.withLock { state in
            guard !state.rules.isEmpty else { return .none }
            var active = ActiveRules()
            active.nowMillis = millis
            for rule in state.rules where rule.applies(to: surface) && rule.isInForce(atMillis: millis) {
                let target = ActiveRules.matchable(rule.target)
                switch rule.kind {
                case .pin:
                    if case .product(let id) = rule.target, let position = rule.position {
                        active.pins.append(.init(name: rule.name, productID: id, position: position))
                    }
                case .boost: active.adjustments.append(.init(name: rule.name, target: target, weight: Float(rule.weight ?? 0)))
                case .bury: active.adjustments.append(.init(name: rule.name, target: target, weight: -Float(rule.weight ?? 0)))
                case .block: active.blocks.append(target)
                }
                if case .newProducts = target, active.addedAt.isEmpty {
                    active.addedAt = state.addedAt
                    active.newest = state.newest
                }
            }
            return active
        }
    }
}

/// The rules in force on one list, in the form matching products needs.
struct ActiveRules: Sendable {
    struct Pin: Sendable {
        var name: String
        var productID: String
        var position: Int
    }

    struct Adjustment: Sendable {
        var name: String
        var target: MerchandisingRule.Target
        /// Positive for a boost, negative for a bury.
        var weight: Float
    }

    static let none = ActiveRules()

    var pins: [Pin] = []
    var adjustments: [Adjustment] = []
    var blocks: [MerchandisingRule.Target] = []
    var addedAt: [String: Int64] = [:]
    /// Newest first.
    var newest: [(productID: String, addedAtMillis: Int64)] = []
    var nowMillis: Int64 = 0

    /// Whether rules move or place products (blocks only filter).
    var reshapes: Bool { !pins.isEmpty || !adjustments.isEmpty }

    /// Brands and categories lower-cased, as the catalogue keeps its keys.
    static func matchable(_ target: MerchandisingRule.Target) -> MerchandisingRule.Target {
        switch target {
        case .brand(let brand): .brand(brand.lowercased())
        case .category(let category): .category(category.lowercased())
        default: target
        }
    }

    func matches(_ target: MerchandisingRule.Target, row: Int, view: LiveCatalogue.View) -> Bool {
        switch target {
        case .product(let id): view.products[row].id == id
        case .brand(let brand): view.brandKeys[row] == brand
        case .category(let prefix): view.categoryKeys[row].hasPrefix(prefix)
        case .newProducts(let days): (addedAt[view.products[row].id] ?? .min) >= nowMillis - Int64(days) * 86_400_000
        }
    }

    /// Whether a row is blocked; nil when nothing is.
    func blocked(in view: LiveCatalogue.View) -> (@Sendable (Int) -> Bool)? {
        guard !blocks.isEmpty else { return nil }
        var rows = Set<Int>(), brands = Set<String>(), prefixes: [String] = []
        for target in blocks {
            switch target {
            case .product(let id): if let row = view.rows[id] { rows.insert(row) }
            case .brand(let brand): brands.insert(brand)
            case .category(let prefix): prefixes.append(prefix)
            case .newProducts: break
            }
        }
        let brandKeys = view.brandKeys, categoryKeys = view.categoryKeys
        return { [rows, brands, prefixes] row in
            rows.contains(row) || (!brands.isEmpty && brands.contains(brandKeys[row]))
                || prefixes.contains { categoryKeys[row].hasPrefix($0) }
        }
    }

    /// Products a boost names outright, or new ones (the newest first), which enter a list the
    /// model did not put them in.
    func boostedOutsiders(view: LiveCatalogue.View) -> [Int] {
        var rows: [Int] = []
        for adjustment in adjustments where adjustment.weight > 0 {
            switch adjustment.target {
            case .product(let id): if let row = view.rows[id] { rows.append(row) }
            case .newProducts(let days):
                let since = nowMillis - Int64(days) * 86_400_000
                rows += newest.prefix { $0.addedAtMillis >= since }.prefix(MerchandisedLists.newcomersPerList).compactMap { view.rows[$0.productID] }
            default: break
            }
        }
        return rows
    }
}

/// Rules over a scored list: blocked products never reach it (the engine's filter), then boosts
/// and buries move products by a share of the list's score range, variety re-ranks
/// (`DiverseLists`), and pinned products take their places.
enum MerchandisedLists {
    /// At most this many new products a boost brings into one list from outside the model's candidates.
    static let newcomersPerList = 100

    struct Placed {
        var row: Int
        /// The model's own score (0 for a product a rule brought in from outside its candidates).
        var score: Float
        /// The rule that placed or moved it.
        var rule: String?
        /// A pin or boost placed or raised it: its reason may cite the history only when the
        /// evidence supports it (else "Featured").
        var promoted: Bool
    }

    /// Candidates to score: wider when rules move products, so a boost has something to lift.
    static func poolSize(k: Int, request: RecommendationRequest) -> Int {
        let base = DiverseLists.poolSize(k: k, request: request)
        return request.rules.reshapes ? max(base, 5 * k) : base
    }

    static func finish(_ candidates: [(row: Int, score: Float)], k: Int, request: RecommendationRequest, excluded: Set<Int>,
                       view: LiveCatalogue.View, requireInStock: Bool = true) -> [Placed] {
        let rules = request.rules
        guard rules.reshapes else {
            return DiverseLists.rerank(candidates, k: k, diversity: request.diversity, maxPerCategory: request.maxPerCategory, view: view)
                .map { Placed(row: $0.row, score: $0.score, rule: nil, promoted: false) }
        }
        let accepts = RecommendationEngine.filter(excluded: excluded, request: request, view: view, requireInStock: requireInStock)
        var rawScore: [Int: Float] = [:]
        for candidate in candidates { rawScore[candidate.row] = candidate.score }

        // Pins: each to its place; when two name one place, the one first by name has it and the
        // other the next free place. A pin past the list's length is not shown.
        var pinned: [Int: (row: Int, name: String)] = [:]
        var pinnedRows = Set<Int>()
        for pin in rules.pins.sorted(by: { ($0.position, $0.name) < ($1.position, $1.name) }) {
            guard let row = view.rows[pin.productID], accepts(row), !pinnedRows.contains(row) else { continue }
            var position = pin.position
            while pinned[position] != nil { position += 1 }
            guard position <= k else { continue }
            pinned[position] = (row, pin.name)
            pinnedRows.insert(row)
        }

        // Boosts and buries: scores as shares of the candidates' range, moved by each matching rule's weight.
        let low = candidates.map(\.score).min() ?? 0, high = candidates.map(\.score).max() ?? 0
        let span = high > low ? high - low : 1
        var pool = candidates.filter { !pinnedRows.contains($0.row) }.map { (row: $0.row, score: ($0.score - low) / span) }
        var inPool = Set(pool.map(\.row)).union(pinnedRows)
        for row in rules.boostedOutsiders(view: view) where !inPool.contains(row) && accepts(row) {
            // Outside the model's candidates: it enters at the bottom of the range.
            pool.append((row, 0))
            inPool.insert(row)
        }
        var ruleOf: [Int: (name: String, lifts: Bool)] = [:]
        var moved = [Float](repeating: 0, count: pool.count)
        for i in pool.indices {
            for adjustment in rules.adjustments where rules.matches(adjustment.target, row: pool[i].row, view: view) {
                pool[i].score += adjustment.weight
                moved[i] += adjustment.weight
                // A boost names the item before a bury does.
                if ruleOf[pool[i].row] == nil || (adjustment.weight > 0 && ruleOf[pool[i].row]?.lifts == false) {
                    ruleOf[pool[i].row] = (adjustment.name, adjustment.weight > 0)
                }
            }
        }
        // Ties go to the product moved up the most (a boost of 1 lifts the last candidate above
        // the first), then keep the model's order.
        pool = pool.indices.sorted { a, b in
            if pool[a].score != pool[b].score { return pool[a].score > pool[b].score }
            if moved[a] != moved[b] { return moved[a] > moved[b] }
            return a < b
        }.map { pool[$0] }
        let rest = DiverseLists.rerank(pool, k: k - pinned.count, diversity: request.diversity, maxPerCategory: request.maxPerCategory,
                                       view: view)

        var out: [Placed] = []
        var next = rest.makeIterator()
        var unplaced: [(row: Int, name: String)] = []
        for position in 1...max(k, 1) {
            if let pin = pinned[position] {
                out.append(Placed(row: pin.row, score: rawScore[pin.row] ?? 0, rule: pin.name, promoted: true))
            } else if let item = next.next() {
                let rule = ruleOf[item.row]
                out.append(Placed(row: item.row, score: rawScore[item.row] ?? 0, rule: rule?.name, promoted: rule?.lifts == true))
            } else {
                // Too few products pass the filters to reach the later pins' places: they close the list.
                unplaced = pinned.filter { $0.key > position }.sorted { $0.key < $1.key }.map(\.value)
                break
            }
        }
        for pin in unplaced where out.count < k {
            out.append(Placed(row: pin.row, score: rawScore[pin.row] ?? 0, rule: pin.name, promoted: true))
        }
        return out
    }
}

/// The shop's merchandising rules: stored, applied by this replica at once, by the others from
/// the change log (a shared store) or within a second (a server's refresh).
extension RecommendationEngine {
    /// A rule with what it does now: whether it is in force and how many live products it matches.
    public struct RuleStatus: Sendable {
        public var rule: MerchandisingRule
        public var inForce: Bool
        public var matchingProducts: Int
    }

    public func merchandisingRules() async throws -> [RuleStatus] {
        try await store.merchandisingRules().map(status)
    }

    public func merchandisingRule(named name: String) async throws -> RuleStatus? {
        try await store.merchandisingRules().first { $0.name == name }.map(status)
    }

    /// Stores the rule (checked; replacing one of its name) and applies it here at once.
    public func putMerchandisingRule(_ rule: MerchandisingRule) async throws -> (status: RuleStatus, created: Bool) {
        let rule = try rule.readyToStore(atMillis: Timestamps.nowMillis())
        let created = try await store.putMerchandisingRule(rule)
        try await refreshRules()
        return (status(rule), created)
    }

    /// False when there is no rule of that name.
    public func deleteMerchandisingRule(named name: String) async throws -> Bool {
        let deleted = try await store.deleteMerchandisingRule(named: name)
        try await refreshRules()
        return deleted
    }

    /// Reads the rules again, and when they name new products (or changed), when recent products were added.
    public func refreshRules() async throws {
        let rules = try await store.merchandisingRules()
        guard rules != ruleBook.rules else { return }
        var addedAt: [String: Int64]?
        if let days = RuleBook.newProductWindowDays(rules) {
            let since = Timestamps.nowMillis() - Int64(days) * 86_400_000
            addedAt = Dictionary(try await store.productsAdded(sinceMillis: since).map { ($0.productID, $0.addedAtMillis) }) { max($0, $1) }
        }
        ruleBook.replace(rules: rules, addedAt: addedAt)
    }

    private func status(_ rule: MerchandisingRule) -> RuleStatus {
        let now = Timestamps.nowMillis()
        let matching = catalogue.read { view -> Int in
            var probe = ActiveRules()
            probe.nowMillis = now
            if case .newProducts = rule.target { probe.addedAt = ruleBook.addedAtSnapshot }
            let target = ActiveRules.matchable(rule.target)
            if case .product(let id) = target { return view.rows[id].map { view.alive[$0] ? 1 : 0 } ?? 0 }
            return (0..<view.rowCount).reduce(0) { $0 + (view.alive[$1] && probe.matches(target, row: $1, view: view) ? 1 : 0) }
        }
        return RuleStatus(rule: rule, inForce: rule.isInForce(atMillis: now), matchingProducts: matching)
    }
}

extension RuleBook {
    var addedAtSnapshot: [String: Int64] { state.withLock { $0.addedAt } }
}
