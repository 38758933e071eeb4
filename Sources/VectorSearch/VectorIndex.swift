/// One search result: a stored id and its inner product with the query (cosine similarity for
/// unit vectors); higher is better.
public struct Neighbor: Sendable, Hashable, CustomStringConvertible {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }

    public var description: String { "\(id):\(score)" }
}

/// Which stored items a search may return.
///
/// Every index honours the same promise: a filter never makes a result come back short while
/// enough stored items match it — a search returns `min(k, matching items)` results.
public enum SearchFilter: Sendable {
    /// Only these ids (ids not in the index are ignored).
    case allowedIDs(Set<Int64>)
    /// Anything but these ids (e.g. what the shopper already bought).
    case excludedIDs(Set<Int64>)
    /// Ids for which the predicate returns true. It is called from the searching thread,
    /// possibly many times per search, and must be cheap and thread-safe.
    case predicate(@Sendable (Int64) -> Bool)

    @inlinable
    public func accepts(_ id: Int64) -> Bool {
        switch self {
        case .allowedIDs(let ids): return ids.contains(id)
        case .excludedIDs(let ids): return !ids.contains(id)
        case .predicate(let accepts): return accepts(id)
        }
    }
}

public enum VectorSearchError: Error, CustomStringConvertible, Sendable, Equatable {
    case dimensionMismatch(expected: Int, got: Int)
    case nonFiniteValue(id: Int64)
    case duplicateID(Int64)
    case index(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let got): "vector has \(got) values, the index holds \(expected)-dimensional vectors"
        case .nonFiniteValue(let id): "vector for id \(id) holds NaN or infinity"
        case .duplicateID(let id): "id \(id) appears twice in one batch"
        case .index(let message): "vector index: \(message)"
        }
    }
}

/// A mutable set of unit vectors by id, searchable by inner product.
///
/// Implementations are thread-safe: searches run concurrently with each other, writes are
/// exclusive, and an item is searchable as soon as `upsert` returns.
public protocol VectorIndex: AnyObject, Sendable {
    var dimension: Int { get }
    /// Live items.
    var count: Int { get }

    /// Adds an item, or replaces the vector of an existing id. Vectors should be unit length
    /// (scores are raw inner products).
    func upsert(id: Int64, vector: [Float]) throws
    /// Adds or replaces many items at once; `vectors` holds `ids.count` rows of `dimension`.
    func upsert(ids: [Int64], vectors: [Float]) throws
    /// Removes an item; returns false when it was not there.
    @discardableResult func remove(id: Int64) -> Bool
    func contains(id: Int64) -> Bool
    /// The stored vector of an id, or nil.
    func vector(id: Int64) -> [Float]?

    /// The `k` items with the highest inner product with `query`, best first (equal scores by
    /// lower id), among those the filter accepts.
    func search(query: [Float], k: Int, filter: SearchFilter?) -> [Neighbor]
    /// Many queries at once (`queries` holds rows of `dimension`), one filter per query or one
    /// filter for all (`filters.count` is 0, 1 or the number of queries).
    func search(queries: [Float], k: Int, filters: [SearchFilter?]) -> [[Neighbor]]
}

extension VectorIndex {
    public func search(query: [Float], k: Int) -> [Neighbor] { search(query: query, k: k, filter: nil) }

    public func search(queries: [Float], k: Int, filter: SearchFilter? = nil) -> [[Neighbor]] {
        search(queries: queries, k: k, filters: [filter])
    }

    public func upsert(id: Int64, vector: [Float]) throws { try upsert(ids: [id], vectors: vector) }
}

func checkBatch(ids: [Int64], vectors: [Float], dimension: Int) throws {
    guard vectors.count == ids.count * dimension else {
        throw VectorSearchError.dimensionMismatch(expected: dimension, got: ids.isEmpty ? vectors.count : vectors.count / max(ids.count, 1))
    }
    for (row, id) in ids.enumerated() {
        for j in 0..<dimension where !vectors[row * dimension + j].isFinite {
            throw VectorSearchError.nonFiniteValue(id: id)
        }
    }
    try checkUniqueIDs(ids)
}

func checkUniqueIDs(_ ids: [Int64]) throws {
    if ids.count > 1 && Set(ids).count != ids.count {
        let seen = ids.reduce(into: [Int64: Int]()) { $0[$1, default: 0] += 1 }
        throw VectorSearchError.duplicateID(seen.first { $0.value > 1 }!.key)
    }
}

func filterFor(_ filters: [SearchFilter?], query: Int, queryCount: Int) -> SearchFilter? {
    switch filters.count {
    case 0: return nil
    case 1: return filters[0]
    default:
        precondition(filters.count == queryCount, "one filter per query, or one for all")
        return filters[query]
    }
}

/// Scales `vector` to unit length in place (leaves a zero vector alone).
public func normalize(_ vector: inout [Float]) {
    var sum: Float = 0
    for v in vector { sum += v * v }
    guard sum > 0 else { return }
    let inv = 1 / sum.squareRoot()
    for i in vector.indices { vector[i] *= inv }
}
