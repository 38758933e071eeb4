import CuratorCore
import Foundation
import Linear
import Recommenders

/// What a storefront needs to show the catalogue: pages by popularity, semantic search and
/// the category tree, all from the live catalogue (no database round trip).
extension RecommendationEngine {
    public struct Page: Sendable {
        public var products: [Product]
        /// Similarity to the query, for searches.
        public var scores: [Float]?
        /// Matching products in all.
        public var total: Int
        /// For searches: the merchandising rule that placed or moved each product, if one did.
        public var rules: [String?]?

        init(products: [Product], scores: [Float]?, total: Int, rules: [String?]? = nil) {
            self.products = products
            self.scores = scores
            self.total = total
            self.rules = rules
        }
    }

    /// Live products under `category` (a prefix of the path, case-insensitive), most popular first.
    public func browse(category: String?, offset: Int, limit: Int) -> Page {
        catalogue.read { view in
            let prefix = category?.lowercased()
            var matching: [Int] = []
            for row in 0..<view.rowCount where view.alive[row] {
                if let prefix, !view.categoryKeys[row].hasPrefix(prefix) { continue }
                matching.append(row)
            }
            // Only the rows up to the page's end are ranked, the way every other list is (ties by row).
            let depth = min(offset + limit, matching.count)
            guard depth > offset else { return Page(products: [], scores: nil, total: matching.count) }
            var selector = TopKSelector(k: depth, itemCount: view.rowCount)
            var ranked: [Int32] = []
            let candidates = matching.map(Int32.init)
            view.popularity.withUnsafeBufferPointer { scores in
                candidates.withUnsafeBufferPointer { selector.select(scores: scores, candidates: $0, into: &ranked) }
            }
            return Page(products: ranked.dropFirst(offset).map { view.products[Int($0)] }, scores: nil, total: matching.count)
        }
    }

    /// The live products closest in meaning to a query vector (the encoded search text).
    public func search(vector: [Float], category: String?, limit: Int) -> Page {
        var request = RecommendationRequest(k: limit)
        request.category = category
        request.surface = .search
        request.rules = ruleBook.active(on: .search, atMillis: Timestamps.nowMillis())
        return catalogue.read { view in
            let found = Self.nearest(to: vector, k: MerchandisedLists.poolSize(k: limit, request: request), excluded: [], request: request, view: view,
                                     requireInStock: false)
            let placed = MerchandisedLists.finish(found, k: limit, request: request, excluded: [], view: view, requireInStock: false)
            return Page(products: placed.map { view.products[$0.row] }, scores: placed.map(\.score), total: placed.count, rules: placed.map(\.rule))
        }
    }

    /// Live products per category path, and per department (the path's first part).
    public func categories() -> (departments: [(name: String, count: Int)], categories: [(name: String, count: Int)]) {
        catalogue.read { view in
            var byPath: [String: Int] = [:]
            for row in 0..<view.rowCount where view.alive[row] && !view.products[row].category.isEmpty {
                byPath[view.products[row].category, default: 0] += 1
            }
            var byDepartment: [String: Int] = [:]
            for (path, count) in byPath {
                let department = path.components(separatedBy: " > ").first?.trimmingCharacters(in: .whitespaces) ?? path
                byDepartment[department, default: 0] += count
            }
            let sorted = { (d: [String: Int]) in d.map { (name: $0.key, count: $0.value) }.sorted { $0.name < $1.name } }
            return (sorted(byDepartment), sorted(byPath))
        }
    }
}
