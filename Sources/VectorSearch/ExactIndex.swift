import CuratorCore
import Dispatch
internal import Linear

/// Exact inner-product search over a contiguous row-major matrix of fp32 vectors.
///
/// One query is one `sgemv` over the whole matrix (bound by memory bandwidth: 100,000 x 384
/// floats are 150 MB per query); a batch of queries is one `sgemm` per block of rows, which
/// reads the matrix once for the whole batch, so batching concurrent requests is what gives
/// throughput. Removal moves the last row into the hole, so the matrix stays dense.
public final class ExactIndex: VectorIndex, @unchecked Sendable {
    public let dimension: Int
    /// Rows scored per `sgemm` in batch search: keeps the score block in cache.
    public static let batchRowBlock = 8192

    private let lock = ReadWriteLock()
    private var matrix: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var rowIDs: [Int64] = []
    private var rowOf: [Int64: Int] = [:]

    public init(dimension: Int, capacity: Int = 1024) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.capacity = max(capacity, 16)
        matrix = .allocate(capacity: self.capacity * dimension)
    }

    deinit { matrix.deallocate() }

    public var count: Int { lock.withReadLock { rowIDs.count } }

    /// Bytes held by the vectors.
    public var memoryBytes: Int { lock.withReadLock { capacity * dimension * MemoryLayout<Float>.size } }

    /// All stored ids in row order (a snapshot).
    public var ids: [Int64] { lock.withReadLock { rowIDs } }

    public func upsert(ids: [Int64], vectors: [Float]) throws {
        try checkBatch(ids: ids, vectors: vectors, dimension: dimension)
        lock.withWriteLock {
            reserve(rowIDs.count + ids.count)
            vectors.withUnsafeBufferPointer { src in
                for (i, id) in ids.enumerated() {
                    let row: Int
                    if let existing = rowOf[id] {
                        row = existing
                    } else {
                        row = rowIDs.count
                        rowIDs.append(id)
                        rowOf[id] = row
                    }
                    (matrix + row * dimension).update(from: src.baseAddress! + i * dimension, count: dimension)
                }
            }
        }
    }

    @discardableResult
    public func remove(id: Int64) -> Bool {
        lock.withWriteLock {
            guard let row = rowOf.removeValue(forKey: id) else { return false }
            let last = rowIDs.count - 1
            if row != last {
                let moved = rowIDs[last]
                (matrix + row * dimension).update(from: matrix + last * dimension, count: dimension)
                rowIDs[row] = moved
                rowOf[moved] = row
            }
            rowIDs.removeLast()
            return true
        }
    }

    /// Every id with its vector (row-major), consistent at one instant.
    public func snapshot() -> (ids: [Int64], vectors: [Float]) {
        lock.withReadLock { (rowIDs, Array(UnsafeBufferPointer(start: matrix, count: rowIDs.count * dimension))) }
    }

    public func contains(id: Int64) -> Bool { lock.withReadLock { rowOf[id] != nil } }

    public func vector(id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let row = rowOf[id] else { return nil }
            return Array(UnsafeBufferPointer(start: matrix + row * dimension, count: dimension))
        }
    }

    public func search(query: [Float], k: Int, filter: SearchFilter?) -> [Neighbor] {
        precondition(query.count == dimension, "query has \(query.count) values, index has \(dimension)")
        return lock.withReadLock {
            let n = rowIDs.count
            guard k > 0, n > 0 else { return [] }
            return query.withUnsafeBufferPointer { q in
                if case .allowedIDs(let allowed) = filter, allowed.count * 4 < n {
                    return searchRows(of: allowed, query: q.baseAddress!, k: k)
                }
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: n)
                defer { scores.deallocate() }
                BLAS.sgemv(m: n, n: dimension, a: matrix, lda: dimension, x: q.baseAddress!, y: scores)
                var top = TopKSelector(k: k)
                rowIDs.withUnsafeBufferPointer { ids in
                    collect(scores: scores, ids: ids.baseAddress!, count: n, filter: filter, into: &top)
                }
                return top.neighbors()
            }
        }
    }

    public func search(queries: [Float], k: Int, filters: [SearchFilter?]) -> [[Neighbor]] {
        precondition(queries.count % dimension == 0, "queries must hold whole rows of \(dimension)")
        let q = queries.count / dimension
        guard q > 0 else { return [] }
        if q == 1 { return [search(query: queries, k: k, filter: filterFor(filters, query: 0, queryCount: 1))] }
        return lock.withReadLock {
            let n = rowIDs.count
            guard k > 0, n > 0 else { return Array(repeating: [], count: q) }
            var tops = (0..<q).map { _ in TopKSelector(k: k) }
            let block = min(n, Self.batchRowBlock)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: q * block)
            defer { scores.deallocate() }
            queries.withUnsafeBufferPointer { qs in
                rowIDs.withUnsafeBufferPointer { ids in
                    var start = 0
                    while start < n {
                        let rows = min(block, n - start)
                        // scores[q x rows] = queries[q x d] · matrix[start..<start+rows]ᵀ
                        BLAS.sgemm(
                            transposeB: true, m: q, n: rows, k: dimension,
                            a: qs.baseAddress!, lda: dimension,
                            b: matrix + start * dimension, ldb: dimension,
                            c: scores, ldc: rows)
                        for i in 0..<q {
                            collect(
                                scores: scores + i * rows, ids: ids.baseAddress! + start, count: rows,
                                filter: filterFor(filters, query: i, queryCount: q), into: &tops[i])
                        }
                        start += rows
                    }
                }
            }
            return tops.indices.map { tops[$0].neighbors() }
        }
    }

    // MARK: - Internals (called under the lock)

    private func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        var newCapacity = capacity
        while newCapacity < rows { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * dimension)
        bigger.update(from: matrix, count: rowIDs.count * dimension)
        matrix.deallocate()
        matrix = bigger
        capacity = newCapacity
    }

    /// Offers every score to `top`, asking the filter only about scores that would enter it.
    private func collect(
        scores: UnsafePointer<Float>, ids: UnsafePointer<Int64>, count: Int, filter: SearchFilter?, into top: inout TopKSelector
    ) {
        var threshold = top.threshold
        for r in 0..<count {
            let s = scores[r]
            guard s >= threshold else { continue }  // also skips NaN
            let id = ids[r]
            guard top.wouldAccept(score: s, id: id) else { continue }
            if let filter, !filter.accepts(id) { continue }
            top.offer(score: s, id: id)
            threshold = top.threshold
        }
    }

    /// Scores only the allowed ids' rows: cheaper than a full scan when they are few.
    private func searchRows(of allowed: Set<Int64>, query: UnsafePointer<Float>, k: Int) -> [Neighbor] {
        var top = TopKSelector(k: k)
        for id in allowed {
            guard let row = rowOf[id] else { continue }
            top.offer(score: dot(query, matrix + row * dimension, dimension), id: id)
        }
        return top.neighbors()
    }
}

extension TopKSelector {
    /// The kept pairs as search results, best first (the selector is emptied).
    mutating func neighbors() -> [Neighbor] { finish().map { Neighbor(id: $0.id, score: $0.score) } }
}

/// Inner product of two rows of `n` floats.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n {
        s += a[i] * b[i]
        i += 1
    }
    return s
}
