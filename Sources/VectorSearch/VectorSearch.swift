import Dispatch
import Foundation
internal import Linear

/// Chooses and builds vector indexes: exact search through BLAS for small catalogues, HNSW
/// above a configurable size.
public enum VectorSearch {
    public struct Configuration: Sendable {
        /// Catalogues of at least this many items use HNSW; smaller ones exact search.
        public var hnswThreshold = 50_000
        public var hnsw = HNSWIndex.Parameters()

        public init(hnswThreshold: Int = 50_000, hnsw: HNSWIndex.Parameters = HNSWIndex.Parameters()) {
            self.hnswThreshold = hnswThreshold
            self.hnsw = hnsw
        }
    }

    /// A fixed index kind chosen by the expected catalogue size.
    public static func makeIndex(
        dimension: Int, expectedCount: Int, configuration: Configuration = Configuration()
    ) throws -> any VectorIndex {
        if expectedCount >= configuration.hnswThreshold {
            var parameters = configuration.hnsw
            parameters.initialCapacity = max(parameters.initialCapacity, expectedCount)
            return try HNSWIndex(dimension: dimension, parameters: parameters)
        }
        return ExactIndex(dimension: dimension, capacity: max(expectedCount, 1024))
    }

    /// The OpenBLAS kernel family exact search runs on (e.g. "Haswell").
    public static var blasCoreName: String { BLAS.coreName }
    /// OpenBLAS's thread count (global to the process).
    public static var blasThreads: Int {
        get { BLAS.threads }
        set { BLAS.threads = newValue }
    }
}

/// An index that starts exact and switches itself to HNSW once it holds more than the
/// threshold: the graph is built in the background from a snapshot while the exact index
/// keeps serving, the writes made meanwhile are replayed, and then the backend is swapped.
/// Searches and writes never wait for the build (the final swap holds writes only briefly).
public final class AdaptiveIndex: VectorIndex, @unchecked Sendable {
    public let dimension: Int
    public let configuration: VectorSearch.Configuration

    private enum Write {
        case upsert([Int64], [Float])
        case remove(Int64)
    }

    private let lock = NSLock()
    private var backend: any VectorIndex
    /// Writes since the snapshot the background build started from; nil when not building.
    private var journal: [Write]?
    private let building = DispatchGroup()
    private var buildError: Error?

    public init(dimension: Int, configuration: VectorSearch.Configuration = VectorSearch.Configuration()) {
        self.dimension = dimension
        self.configuration = configuration
        backend = ExactIndex(dimension: dimension)
    }

    /// Starts with the index `VectorSearch.makeIndex` picks for `expectedCount`.
    public init(dimension: Int, expectedCount: Int, configuration: VectorSearch.Configuration = VectorSearch.Configuration()) throws {
        self.dimension = dimension
        self.configuration = configuration
        backend = try VectorSearch.makeIndex(dimension: dimension, expectedCount: expectedCount, configuration: configuration)
    }

    /// The index currently answering searches.
    public var current: any VectorIndex { lock.withLock { backend } }
    public var usesHNSW: Bool { current is HNSWIndex }

    /// Waits for a background switch to HNSW, if one is running; rethrows its failure.
    public func waitUntilSettled() throws {
        building.wait()
        if let error = lock.withLock({ buildError }) { throw error }
    }

    public var count: Int { current.count }
    public func contains(id: Int64) -> Bool { current.contains(id: id) }
    public func vector(id: Int64) -> [Float]? { current.vector(id: id) }
    public func search(query: [Float], k: Int, filter: SearchFilter?) -> [Neighbor] {
        current.search(query: query, k: k, filter: filter)
    }
    public func search(queries: [Float], k: Int, filters: [SearchFilter?]) -> [[Neighbor]] {
        current.search(queries: queries, k: k, filters: filters)
    }

    public func upsert(ids: [Int64], vectors: [Float]) throws {
        let snapshot: ExactIndex? = try lock.withLock {
            try backend.upsert(ids: ids, vectors: vectors)
            journal?.append(.upsert(ids, vectors))
            guard journal == nil, let exact = backend as? ExactIndex, exact.count >= configuration.hnswThreshold else { return nil }
            journal = []
            return exact
        }
        if let snapshot {
            let data = snapshot.snapshot()  // writes wait on the exact index's lock only for the copy
            startBuild(from: data)
        }
    }

    @discardableResult
    public func remove(id: Int64) -> Bool {
        lock.withLock {
            let removed = backend.remove(id: id)
            if removed { journal?.append(.remove(id)) }
            return removed
        }
    }

    private func startBuild(from data: (ids: [Int64], vectors: [Float])) {
        building.enter()
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { building.leave() }
            do {
                var parameters = configuration.hnsw
                parameters.initialCapacity = max(parameters.initialCapacity, data.ids.count * 5 / 4)
                let graph = try HNSWIndex(dimension: dimension, parameters: parameters)
                try graph.upsert(ids: data.ids, vectors: data.vectors)
                // Catch up outside the lock while writes keep coming, then swap under it.
                while true {
                    let pending: [Write]? = try lock.withLock {
                        let writes = journal ?? []
                        if writes.count <= 64 {
                            try replay(writes, into: graph)
                            backend = graph
                            journal = nil
                            return nil
                        }
                        journal = []
                        return writes
                    }
                    guard let pending else { break }
                    try replay(pending, into: graph)
                }
            } catch {
                lock.withLock {
                    buildError = error
                    journal = nil
                }
            }
        }
    }

    private func replay(_ writes: [Write], into graph: HNSWIndex) throws {
        for write in writes {
            switch write {
            case .upsert(let ids, let vectors): try graph.upsert(ids: ids, vectors: vectors)
            case .remove(let id): graph.remove(id: id)
            }
        }
    }
}
