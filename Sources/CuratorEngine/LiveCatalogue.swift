import CuratorCore
import Foundation
import Storage

/// The catalogue as the engine ranks it: products, their language-model vectors and their
/// popularity, in memory, changed in place as products and events arrive.
///
/// Many requests read at once; a write (new product, deletion, events) takes the lock alone
/// for the few microseconds it needs. Rows are never moved, so a product keeps its row for the
/// life of the process; a deleted product's row is marked dead and skipped.
public final class LiveCatalogue: @unchecked Sendable {
    public let dimension: Int
    private let lock = ReadWriteLock()
    // Guarded by `lock`.
    private var products: [Product] = []
    private var rows: [String: Int] = [:]
    private var vectors: [Float] = []
    private var popularity: [Float] = []
    private var alive: [Bool] = []
    private var liveCount = 0

    public init(dimension: Int) { self.dimension = dimension }

    /// Loads every live product of the store with its vector and popularity from its events.
    public convenience init(store: CuratorStore, vectors: [Float], dimension: Int) throws {
        self.init(dimension: dimension)
        let stored = try store.allProducts().map(\.product)
        guard vectors.count == stored.count * dimension else {
            throw CuratorError.model("there are \(vectors.count / max(dimension, 1)) product vectors for \(stored.count) products; run curator embed")
        }
        products = stored
        self.vectors = vectors
        alive = [Bool](repeating: true, count: stored.count)
        liveCount = stored.count
        for (i, product) in stored.enumerated() { rows[product.id] = i }
        popularity = [Float](repeating: 0, count: stored.count)
        for (productID, weight) in try store.productPopularity() {
            if let row = rows[productID] { popularity[row] = weight }
        }
    }

    public var count: Int { lock.withReadLock { liveCount } }

    /// Adds or replaces a product; it is ranked from the next request on.
    public func upsert(_ product: Product, vector: [Float]) {
        precondition(vector.count == dimension, "vector dimension")
        lock.withWriteLock {
            if let row = rows[product.id] {
                products[row] = product
                vectors.replaceSubrange((row * dimension)..<((row + 1) * dimension), with: vector)
                if !alive[row] {
                    alive[row] = true
                    liveCount += 1
                }
            } else {
                rows[product.id] = products.count
                products.append(product)
                vectors.append(contentsOf: vector)
                popularity.append(0)
                alive.append(true)
                liveCount += 1
            }
        }
    }

    /// Takes a product out of recommendations. Returns false when it was not there.
    @discardableResult
    public func remove(_ productID: String) -> Bool {
        lock.withWriteLock {
            guard let row = rows[productID], alive[row] else { return false }
            alive[row] = false
            liveCount -= 1
            return true
        }
    }

    public func contains(_ productID: String) -> Bool {
        lock.withReadLock { rows[productID].map { alive[$0] } ?? false }
    }

    public func product(_ productID: String) -> Product? {
        lock.withReadLock { rows[productID].flatMap { alive[$0] ? products[$0] : nil } }
    }

    /// Counts new events toward popularity.
    public func record(_ events: [(productID: String, type: EventType)]) {
        lock.withWriteLock {
            for event in events { if let row = rows[event.productID] { popularity[row] += event.type.weight } }
        }
    }

    /// A consistent view for one request; valid only inside the closure.
    public struct View {
        public let products: [Product]
        public let rows: [String: Int]
        public let vectors: UnsafeBufferPointer<Float>
        public let popularity: [Float]
        public let alive: [Bool]
        public let dimension: Int

        public var rowCount: Int { products.count }

        public func vector(_ row: Int) -> ArraySlice<Float> {
            Array(vectors[(row * dimension)..<((row + 1) * dimension)])[...]
        }
    }

    public func read<T>(_ body: (View) throws -> T) rethrows -> T {
        try lock.withReadLock {
            try vectors.withUnsafeBufferPointer { buffer in
                try body(View(products: products, rows: rows, vectors: buffer, popularity: popularity, alive: alive, dimension: dimension))
            }
        }
    }
}

/// A pthread read-write lock: many readers or one writer.
final class ReadWriteLock: @unchecked Sendable {
    private var lock = pthread_rwlock_t()

    init() { pthread_rwlock_init(&lock, nil) }
    deinit { pthread_rwlock_destroy(&lock) }

    func withReadLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }

    func withWriteLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
}
