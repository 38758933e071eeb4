import CuratorCore
import Foundation
import Linear
import Storage
import TextModels

/// How well a language model reads a shop, measured on the sample shop, where every product's
/// department and kind are known: do a product's most similar products (what "similar products"
/// and the reasons show) come from its own department, and does a kind's name as a search —
/// in the shop's language or in the other one — find products of that kind? A model that cannot
/// read the catalogue's script (all-MiniLM on Chinese) scores near chance here, which is what
/// `scripts/bench similar` makes visible before a shop picks its model.
public struct SemanticFit: Sendable {
    public let encoder: any TextEncoder
    /// Neighbours per product and results per search.
    public var k: Int
    public var template = ProductTextTemplate.standard

    public init(encoder: any TextEncoder, k: Int = 10) {
        self.encoder = encoder
        self.k = k
    }

    public struct Report: Sendable, Codable {
        public var model: String
        public var language: String
        public var products: Int
        public var k: Int
        /// Mean share of each product's k most similar products (cosine of product vectors)
        /// that are in its department.
        public var similarSameDepartment: Double
        /// The same share expected by chance (products of the department among the others).
        public var chanceSameDepartment: Double
        /// Mean share of each product's k most similar products that are of its kind.
        public var similarSameKind: Double
        /// Mean share of the top k products for each kind's name as a search (in the shop's
        /// language) that are of that kind.
        public var searchSameKind: Double
        /// The same with the kind names of the other language as searches.
        public var crossLingualSearchSameKind: Double
        /// Seconds spent encoding the product texts.
        public var encodeSeconds: Double

        enum CodingKeys: String, CodingKey {
            case model, language, products, k
            case similarSameDepartment = "similar_same_department"
            case chanceSameDepartment = "chance_same_department"
            case similarSameKind = "similar_same_kind"
            case searchSameKind = "search_same_kind"
            case crossLingualSearchSameKind = "cross_lingual_search_same_kind"
            case encodeSeconds = "encode_seconds"
        }
    }

    /// Encodes `shop`'s products as passages and every kind name of both languages as queries,
    /// then measures.
    public func measure(_ shop: SampleShop) throws -> Report {
        let items = try shop.catalogue()
        let start = Date()
        let vectors = encoder.encodeMatrix(items.map { template.render($0.product) }, role: .passage)
        let encodeSeconds = Date().timeIntervalSince(start)
        let other: SampleShop.Language = shop.language == .en ? .zh : .en
        let kindCount = SampleShop.kinds(shop.language).count
        let kindOf = items.map { kindIndex($0.department, $0.kind, language: shop.language) }
        let departments = items.map(\.department)
        let departmentSizes = Dictionary(grouping: departments, by: { $0 }).mapValues(\.count)
        let chance = items.count > 1
            ? departments.map { Double(departmentSizes[$0]! - 1) / Double(items.count - 1) }.reduce(0, +) / Double(items.count)
            : 0
        func search(_ language: SampleShop.Language) -> Double {
            let kinds = SampleShop.kinds(language)
            precondition(kinds.count == kindCount, "the sample shop's kinds are parallel across languages")
            let queries = encoder.encodeMatrix(kinds.map(\.name), role: .query)
            let expected = kinds.map { kindIndex($0.department, $0.kind, language: language) }
            return Self.searchPrecision(queries: queries, expected: expected, vectors: vectors, labels: kindOf, k: k)
        }
        return Report(
            model: encoder.name, language: shop.language.rawValue, products: items.count, k: k,
            similarSameDepartment: Self.neighbourAgreement(vectors: vectors, labels: departments, k: k),
            chanceSameDepartment: chance,
            similarSameKind: Self.neighbourAgreement(vectors: vectors, labels: kindOf, k: k),
            searchSameKind: search(shop.language),
            crossLingualSearchSameKind: search(other),
            encodeSeconds: encodeSeconds)
    }

    /// A kind's position in `SampleShop.kinds`, the same in both languages.
    private func kindIndex(_ department: Int, _ kind: Int, language: SampleShop.Language) -> Int {
        SampleShop.kinds(language).firstIndex { $0.department == department && $0.kind == kind }!
    }

    /// Mean, over rows, of the share of each row's `k` most similar other rows (cosine: the rows
    /// are unit length) that carry the row's label. Rows are compared in blocks, so memory stays
    /// at a block of similarities whatever the catalogue's size.
    public static func neighbourAgreement(vectors: EmbeddingMatrix, labels: [Int], k: Int) -> Double {
        let n = vectors.count
        precondition(labels.count == n, "one label per vector")
        let depth = min(k, n - 1)
        guard depth > 0 else { return 0 }
        var total = 0.0
        forEachTopK(queries: vectors, vectors: vectors, k: depth, skipSelf: true) { row, found in
            total += Double(found.filter { labels[Int($0)] == labels[row] }.count) / Double(depth)
        }
        return total / Double(n)
    }

    /// Mean, over queries, of the share of each query's `k` nearest vectors whose label is the
    /// query's expected one.
    public static func searchPrecision(queries: EmbeddingMatrix, expected: [Int], vectors: EmbeddingMatrix, labels: [Int], k: Int) -> Double {
        precondition(expected.count == queries.count && labels.count == vectors.count, "one label per row")
        let depth = min(k, vectors.count)
        guard depth > 0, queries.count > 0 else { return 0 }
        var total = 0.0
        forEachTopK(queries: queries, vectors: vectors, k: depth, skipSelf: false) { row, found in
            total += Double(found.filter { labels[Int($0)] == expected[row] }.count) / Double(depth)
        }
        return total / Double(queries.count)
    }

    /// Calls `body` with each query row and the indices of its `k` most similar vectors, best
    /// first (ties by lower index, as every ranking in Curator); `skipSelf` leaves out the row
    /// itself when queries and vectors are the same matrix.
    static func forEachTopK(queries: EmbeddingMatrix, vectors: EmbeddingMatrix, k: Int, skipSelf: Bool, _ body: (Int, [Int32]) -> Void) {
        precondition(queries.dimension == vectors.dimension, "queries and vectors must have the same dimension")
        let n = vectors.count, d = vectors.dimension, block = 256
        var scores = [Float](repeating: 0, count: block * n)
        var selector = TopKSelector(k: k, itemCount: n)
        var found: [Int32] = []
        for first in stride(from: 0, to: queries.count, by: block) {
            let rows = min(block, queries.count - first)
            queries.values.withUnsafeBufferPointer { q in
                vectors.values.withUnsafeBufferPointer { v in
                    scores.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(transposeB: true, m: rows, n: n, k: d, a: q.baseAddress! + first * d, lda: d,
                                   b: v.baseAddress!, ldb: d, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            for r in 0..<rows {
                let row = first + r
                scores.withUnsafeBufferPointer { all in
                    let slice = UnsafeBufferPointer(rebasing: all[(r * n)..<((r + 1) * n)])
                    selector.select(scores: slice, excluding: skipSelf ? [Int32(row)] : [], into: &found)
                }
                body(row, found)
            }
        }
    }
}
