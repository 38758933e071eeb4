internal import CHNSW
import CuratorCore
import Dispatch
import Foundation
internal import Linear
import Synchronization

/// Approximate inner-product search with an HNSW graph (hnswlib, through the CHNSW shim).
///
/// Removal marks the element deleted (it keeps routing searches, is never returned, and comes
/// back if the id is added again); the graph grows by doubling when full. Searches run
/// concurrently; writes take the lock exclusively; a batch add is spread over the cores, and a
/// large one goes in grouped by neighbourhood (`InsertionOrder`).
///
/// Filters: an allowed set that is small (or under `minGraphFraction` of the items) is scored
/// exactly; any other filter estimated to accept under `minGraphFraction` of the items (from
/// a 256-item sample for predicates) is answered by an exact scan; otherwise the graph search
/// walks through rejected elements and widens its beam by the inverse of the filter's share.
/// Whenever a graph search comes back with fewer than `k` results it falls back to an exact
/// scan of the accepted elements, so a filter never makes a result short.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    public struct Parameters: Sendable {
        /// Graph degree (hnswlib's M).
        public var m = 16
        public var efConstruction = 200
        /// Search beam width (raised to k). Higher: better recall, slower.
        public var efSearch = 64
        /// The widest beam a filtered search may use before scanning exactly instead.
        public var maxFilteredEf = 2048
        /// Filters expected to accept a smaller share of the items than this are answered by an
        /// exact scan: below about 1/8 a filtered graph search (which must walk ~1/share times
        /// further) costs more than scanning. Measured on 100,000 x 384 (ef 32): 1/2 0.29 ms
        /// graph vs 8.0 ms scan; 1/5 1.2 vs 5.9; 1/10 4.6 vs 4.1; 1/20 17 vs 3.2.
        public var minGraphFraction = 0.125
        /// Filters expected to match fewer items than this are answered by an exact scan.
        public var exactScanBelow = 2000
        public var seed: UInt64 = 100
        /// Store each vector as int8 values with a per-vector scale (dim + 4 bytes instead of
        /// 4 × dim): scores are then those of the dequantised vectors, and a caller that needs the
        /// exact ranking re-scores the best candidates from its own full-precision vectors.
        public var compact = false
        public var initialCapacity = 1024
        /// Threads used to add a large batch (the graph supports concurrent inserts).
        public var buildThreads = ProcessInfo.processInfo.activeProcessorCount
        /// A batch at least this large, and larger than the graph it goes into, is inserted grouped
        /// by neighbourhood (`InsertionOrder`) rather than in the order given: at 1,000,000 × 384
        /// that builds in half the time at about the same recall (docs/benchmarks.md). 0: never.
        public var groupedInsertionFrom = 50_000

        public init() {}

        /// Whether a batch of `count` goes in grouped when the graph holds `existing` elements.
        public func insertsGrouped(batchOf count: Int, into existing: Int) -> Bool {
            groupedInsertionFrom > 0 && count >= groupedInsertionFrom && count > existing
        }
    }

    public let dimension: Int
    public let parameters: Parameters
    private let lock = ReadWriteLock()
    private let handle: OpaquePointer
    private var _efSearch: Int
    private let searchCounts = Atomic<Int>(0)
    private let scanCounts = Atomic<Int>(0)

    /// Searches answered so far, and how many of them by an exact scan of every element (a
    /// selective filter, or a graph search that came back short): scans cost time in proportion
    /// to the catalogue, so at large sizes they are what the slowest requests do.
    public var searchStatistics: (searches: Int, exactScans: Int) {
        (searchCounts.load(ordering: .relaxed), scanCounts.load(ordering: .relaxed))
    }

    public init(dimension: Int, parameters: Parameters = Parameters()) throws {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.parameters = parameters
        _efSearch = parameters.efSearch
        var err = [CChar](repeating: 0, count: 256)
        guard let h = chnsw_create(
            Int32(dimension), parameters.compact ? 1 : 0, max(parameters.initialCapacity, 16), Int32(parameters.m), Int32(parameters.efConstruction),
            parameters.seed, &err, err.count)
        else { throw VectorSearchError.index(errorText(err)) }
        handle = h
    }

    /// Loads an index written by `save(to:)`.
    public init(contentsOf path: String, dimension: Int, parameters: Parameters = Parameters()) throws {
        self.dimension = dimension
        self.parameters = parameters
        _efSearch = parameters.efSearch
        guard FileManager.default.fileExists(atPath: path) else {
            throw VectorSearchError.index("no index file at \(path)")
        }
        var err = [CChar](repeating: 0, count: 256)
        guard let h = chnsw_load(path, Int32(dimension), parameters.compact ? 1 : 0, 0, &err, err.count) else {
            throw VectorSearchError.index("cannot load \(path): \(errorText(err))")
        }
        handle = h
    }

    deinit { chnsw_free(handle) }

    /// The inner-product kernel the graph uses on this CPU ("avx512", "avx2" or "scalar").
    public static var kernelName: String { String(cString: chnsw_kernel_name()) }
    /// The int8 kernel compact graphs use on this CPU ("avx512-vnni", "avx2" or "scalar").
    public static var int8KernelName: String { String(cString: chnsw_int8_kernel_name()) }

    /// The search beam width; may be changed at any time.
    public var efSearch: Int {
        get { lock.withReadLock { _efSearch } }
        set { lock.withWriteLock { _efSearch = max(1, newValue) } }
    }

    public var count: Int { lock.withReadLock { chnsw_element_count(handle) - chnsw_deleted_count(handle) } }
    /// Elements marked deleted but still in the graph.
    public var deletedCount: Int { lock.withReadLock { chnsw_deleted_count(handle) } }
    public var capacity: Int { lock.withReadLock { chnsw_capacity(handle) } }

    /// Writes the index to `path` atomically (a temporary file renamed over it).
    public func save(to path: String) throws {
        // Unique: a background build and a stop may save at once.
        let tmp = path + ".tmp-\(getpid())-\(UUID().uuidString)"
        var err = [CChar](repeating: 0, count: 256)
        let status = lock.withReadLock { chnsw_save(handle, tmp, &err, err.count) }
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: tmp)
            throw VectorSearchError.index("cannot save \(path): \(errorText(err))")
        }
        guard rename(tmp, path) == 0 else {
            try? FileManager.default.removeItem(atPath: tmp)
            throw VectorSearchError.index("cannot rename \(tmp) to \(path): errno \(errno)")
        }
    }

    public func upsert(ids: [Int64], vectors: [Float]) throws {
        try checkBatch(ids: ids, vectors: vectors, dimension: dimension)
        guard !ids.isEmpty else { return }
        let h = Unchecked(handle), d = dimension, seed = parameters.seed
        try vectors.withUnsafeBufferPointer { src in
            let base = Unchecked(src.baseAddress!)
            let order = { try InsertionOrder.grouped(src, count: ids.count, dimension: d, seed: seed) }
            try insertBatch(ids: ids, groupedOrder: order, add: { i, err in chnsw_add(h.value, base.value + i * d, ids[i], err.baseAddress, err.count) })
        }
    }

    /// Adds rows already in the compact stored form, one per id (a compact graph only): the same
    /// graph elements as `upsert(ids:vectors:)` of the vectors the rows were made from, without a
    /// full-precision copy of them (a catalogue's graph is built from its `CompactRows`).
    public func upsert(ids: [Int64], compactRows rows: CompactRows) throws {
        guard parameters.compact else { throw VectorSearchError.index("compact rows go into a compact graph only") }
        guard rows.dimension == dimension else { throw VectorSearchError.dimensionMismatch(expected: dimension, got: rows.dimension) }
        guard rows.count == ids.count else { throw VectorSearchError.index("\(ids.count) ids for \(rows.count) rows") }
        try checkUniqueIDs(ids)
        guard !ids.isEmpty else { return }
        let h = Unchecked(handle), d = dimension, seed = parameters.seed
        let order = { try InsertionOrder.grouped(count: ids.count, dimension: d, seed: seed) { rows.dequantized(rows: $0) } }
        try insertBatch(ids: ids, groupedOrder: order, add: { i, err in
            rows.withStoredRow(i) { chnsw_add_stored(h.value, $0, ids[i], err.baseAddress, err.count) }
        })
    }

    /// Adds elements `0..<ids.count` with `add(i, errorBuffer)` (non-zero: failed, the buffer says
    /// why), a large batch spread over the cores and, from `groupedInsertionFrom`, in `groupedOrder()`.
    private func insertBatch(ids: [Int64], groupedOrder: () throws -> [Int],
                             add: @escaping @Sendable (Int, UnsafeMutableBufferPointer<CChar>) -> Int32) throws {
        try lock.withWriteLock {
            let needed = chnsw_element_count(handle) + ids.count
            var capacity = chnsw_capacity(handle)
            if needed > capacity {
                while capacity < needed { capacity *= 2 }
                var err = [CChar](repeating: 0, count: 256)
                guard chnsw_resize(handle, capacity, &err, err.count) == 0 else {
                    throw VectorSearchError.index(errorText(err))
                }
            }
            let threads = ids.count >= 256 ? max(1, parameters.buildThreads) : 1
            let order = parameters.insertsGrouped(batchOf: ids.count, into: chnsw_element_count(handle)) ? try groupedOrder() : nil
            let failure = FirstError()
            let addRow: @Sendable (Int) -> Void = { n in
                var err = [CChar](repeating: 0, count: 256)
                if err.withUnsafeMutableBufferPointer({ add(order?[n] ?? n, $0) }) != 0 {
                    failure.record(VectorSearchError.index(errorText(err)))
                }
            }
            if threads == 1 {
                for n in ids.indices { addRow(n) }
            } else {
                // Interleaved so every worker has work to the end, and the workers stay close
                // together in the order.
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    var n = t
                    while n < ids.count {
                        addRow(n)
                        n += threads
                    }
                }
            }
            if let error = failure.error { throw error }
        }
    }

    @discardableResult
    public func remove(id: Int64) -> Bool { lock.withWriteLock { chnsw_mark_deleted(handle, id) == 0 } }

    public func contains(id: Int64) -> Bool { lock.withReadLock { chnsw_contains(handle, id) != 0 } }

    public func vector(id: Int64) -> [Float]? {
        lock.withReadLock {
            var out = [Float](repeating: 0, count: dimension)
            return chnsw_get_vector(handle, id, &out) == 0 ? out : nil
        }
    }

    /// Whether the stored vector of `id` is what adding `vector` would store (exactly, in the
    /// index's storage): what a saved graph is checked against on a restart.
    public func storesSame(id: Int64, vector: [Float]) -> Bool {
        precondition(vector.count == dimension, "vector has \(vector.count) values, index has \(dimension)")
        return lock.withReadLock { chnsw_stores_same(handle, id, vector) != 0 }
    }

    public func search(query: [Float], k: Int, filter: SearchFilter?) -> [Neighbor] {
        search(query: query, k: k, filter: filter, ef: nil)
    }

    /// Searches with a given beam width instead of `efSearch`.
    public func search(query: [Float], k: Int, filter: SearchFilter?, ef: Int?) -> [Neighbor] {
        precondition(query.count == dimension, "query has \(query.count) values, index has \(dimension)")
        return lock.withReadLock {
            query.withUnsafeBufferPointer { q in searchLocked(q.baseAddress!, k: k, filter: filter, ef: ef ?? _efSearch) }
        }
    }

    public func search(queries: [Float], k: Int, filters: [SearchFilter?]) -> [[Neighbor]] {
        precondition(queries.count % dimension == 0, "queries must hold whole rows of \(dimension)")
        let q = queries.count / dimension
        guard q > 0 else { return [] }
        return lock.withReadLock {
            let ef = _efSearch
            let results = ResultSlots(count: q)
            queries.withUnsafeBufferPointer { qs in
                let base = Unchecked(qs.baseAddress!)
                let workers = min(q, max(1, parameters.buildThreads))
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var i = w
                    while i < q {
                        results[i] = searchLocked(base.value + i * dimension, k: k, filter: filterFor(filters, query: i, queryCount: q), ef: ef)
                        i += workers
                    }
                }
            }
            return results.values
        }
    }

    // MARK: - Internals (called under the read lock)

    private func searchLocked(_ query: UnsafePointer<Float>, k: Int, filter: SearchFilter?, ef: Int) -> [Neighbor] {
        searchCounts.add(1, ordering: .relaxed)
        let live = chnsw_element_count(handle) - chnsw_deleted_count(handle)
        guard k > 0, live > 0 else { return [] }
        guard let filter else {
            let found = graphSearch(query, k: k, ef: max(ef, k), filter: nil)
            return found.count >= min(k, live) ? found : scan(query, k: k, filter: nil)
        }
        let matching: Double  // estimated number of live items the filter accepts
        switch filter {
        case .allowedIDs(let allowed):
            if allowed.count <= parameters.exactScanBelow || Double(allowed.count) < Double(live) * parameters.minGraphFraction {
                return scoreAllowed(query, allowed: allowed, k: k)
            }
            matching = Double(min(allowed.count, live))
        case .excludedIDs(let excluded):
            matching = Double(max(live - excluded.count, 0))
        case .predicate:
            matching = estimateMatching(filter, live: live)
        }
        let fraction = matching / Double(live)
        let widened = fraction > 0 ? Double(max(ef, k)) / fraction : .infinity
        if matching < Double(parameters.exactScanBelow) || fraction < parameters.minGraphFraction
            || widened > Double(parameters.maxFilteredEf) {
            return scan(query, k: k, filter: filter)
        }
        let found = graphSearch(query, k: k, ef: Int(widened.rounded(.up)), filter: filter)
        // Short: fewer than k items may match, or the beam missed some. An exact scan decides.
        return found.count >= k ? found : scan(query, k: k, filter: filter)
    }

    private func graphSearch(_ query: UnsafePointer<Float>, k: Int, ef: Int, filter: SearchFilter?) -> [Neighbor] {
        withResultBuffers(k) { labels, scores in
            withFilterCallback(filter) { callback, context in
                chnsw_search(handle, query, k, ef, callback, context, labels, scores)
            }
        }
    }

    private func scan(_ query: UnsafePointer<Float>, k: Int, filter: SearchFilter?) -> [Neighbor] {
        scanCounts.add(1, ordering: .relaxed)
        return withResultBuffers(k) { labels, scores in
            withFilterCallback(filter) { callback, context in
                chnsw_scan(handle, query, k, callback, context, labels, scores)
            }
        }
    }

    private func scoreAllowed(_ query: UnsafePointer<Float>, allowed: Set<Int64>, k: Int) -> [Neighbor] {
        let labels = Array(allowed)
        var scores = [Float](repeating: .nan, count: labels.count)
        chnsw_score_labels(handle, query, labels, labels.count, &scores)
        var top = TopKSelector(k: k)
        for (id, s) in zip(labels, scores) { top.offer(score: s, id: id) }  // NaN (absent) is never kept
        return top.neighbors()
    }

    private func estimateMatching(_ filter: SearchFilter, live: Int) -> Double {
        var sample = [Int64](repeating: 0, count: 256)
        let n = chnsw_sample_labels(handle, sample.count, UInt64.random(in: 0..<1_000_000), &sample)
        guard n > 0 else { return 0 }
        let hits = sample[0..<n].reduce(0) { $0 + (filter.accepts($1) ? 1 : 0) }
        // A filter that matched none of the sample is treated as selective (scanned exactly).
        return Double(hits) / Double(n) * Double(live)
    }

    private func withResultBuffers(_ k: Int, _ body: (UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Float>) -> Int) -> [Neighbor] {
        let labels = UnsafeMutablePointer<Int64>.allocate(capacity: k)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: k)
        defer {
            labels.deallocate()
            scores.deallocate()
        }
        let n = body(labels, scores)
        return (0..<n).map { Neighbor(id: labels[$0], score: scores[$0]) }
    }
}

private final class FilterBox {
    let filter: SearchFilter
    init(_ filter: SearchFilter) { self.filter = filter }
}

private func withFilterCallback<T>(_ filter: SearchFilter?, _ body: (chnsw_filter_fn?, UnsafeMutableRawPointer?) -> T) -> T {
    guard let filter else { return body(nil, nil) }
    let box = FilterBox(filter)
    return withExtendedLifetime(box) {
        body({ context, label in
            Unmanaged<FilterBox>.fromOpaque(context!).takeUnretainedValue().filter.accepts(label) ? 1 : 0
        }, Unmanaged.passUnretained(box).toOpaque())
    }
}

/// Hands a pointer to concurrent workers that only read through it (or write disjoint parts).
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Results written by concurrent workers, each to its own slot.
final class ResultSlots: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<[Neighbor]>
    let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: [], count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    subscript(i: Int) -> [Neighbor] {
        get { slots[i] }
        set { slots[i] = newValue }
    }

    var values: [[Neighbor]] { Array(UnsafeBufferPointer(start: slots, count: count)) }
}

func errorText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?

    func record(_ error: Error) {
        lock.lock()
        if first == nil { first = error }
        lock.unlock()
    }

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }
}
