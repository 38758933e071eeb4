import CuratorCore
import Foundation
import Recommenders
import Storage
import VectorSearch

/// The catalogue as the engine ranks it: products, their language-model vectors and their
/// popularity, in memory, changed in place as products and events arrive.
///
/// Many requests read at once; a write (new product, deletion, events) takes the lock alone
/// for the few microseconds it needs. Rows are never moved, so a product keeps its row for the
/// life of the process; a deleted product's row is marked dead and skipped.
///
/// Large catalogues (at least `IndexOptions.threshold` products) are also kept in an HNSW graph
/// keyed by the store's product row id, so a query costs a fraction of a millisecond instead of
/// a scan of every vector; the graph is saved beside the store and reconciled with it on start.
public final class LiveCatalogue: @unchecked Sendable {
    public struct IndexOptions: Sendable {
        /// Catalogues of at least this many products use the HNSW graph; smaller ones are scanned exactly.
        public var threshold: Int
        /// Where the graph is saved and reloaded from (nil: built fresh on each start).
        public var path: String?
        public var parameters: HNSWIndex.Parameters

        /// With a graph and a `path`: keep the full-precision vectors in a file in the path's
        /// folder, mapped into memory (`CatalogueVectorRows`), rather than in memory.
        public var mapsVectors: Bool
        /// The store, language model and dimension the catalogue is read with. With a `path` and
        /// mapped vectors, the vector file is kept beside the graph and a clean stop describes the
        /// catalogue there under this key, for the next start to restore (`CatalogueSnapshot`).
        public var snapshotKey: String?
        /// Build a graph that cannot be loaded on a thread of its own, answering by scans of the
        /// vectors' compact form meanwhile (`CompactRows`), instead of before the catalogue is returned: a server then answers within
        /// seconds of its first start on a large catalogue, not after minutes of graph build.
        public var buildsInBackground: Bool
        /// Called on the background build's thread before it starts (tests hold it there to write meanwhile).
        package var beforeBackgroundBuild: (@Sendable () -> Void)?

        /// The catalogue graph's parameters unless told otherwise: hnswlib's, with a build beam of
        /// 100. At a million products that builds in 53 s, against 86 s at 200, and finds 0.998 of the
        /// exact top 10 against 0.999 (docs/benchmarks.md, "A graph built in a minute").
        public static var graphParameters: HNSWIndex.Parameters {
            var parameters = HNSWIndex.Parameters()
            parameters.efConstruction = 100
            return parameters
        }

        public init(threshold: Int = 50_000, path: String? = nil, parameters: HNSWIndex.Parameters = IndexOptions.graphParameters,
                    mapsVectors: Bool = true, compactGraph: Bool = true, buildsInBackground: Bool = false) {
            self.threshold = threshold
            self.path = path
            self.mapsVectors = mapsVectors
            self.buildsInBackground = buildsInBackground
            var parameters = parameters
            parameters.efSearch = max(parameters.efSearch, 96)
            // The graph holds int8 vectors; the engine re-ranks its candidates from the catalogue's own (`RecommendationEngine.graphSearch`).
            parameters.compact = compactGraph
            self.parameters = parameters
        }
    }

    public let dimension: Int
    /// The HNSW graph over the live products, when the catalogue is large enough (nil while it
    /// is built in the background: requests are answered by compact scans until then).
    public var index: HNSWIndex? { lock.withReadLock { graph } }
    /// How the index came to be: "exact scan", "built in 12.3 s", "loaded (3 products updated)".
    public internal(set) var indexOrigin: String {
        get { lock.withReadLock { origin } }
        set { lock.withWriteLock { origin = newValue } }
    }
    /// How requests are answered while a graph builds in the background: every row's compact form
    /// scanned, the best candidates re-ranked from full precision.
    public static let scanWhileBuilding = "compact scan while the graph builds"
    /// Whether a graph is being built in the background (requests are answered by compact scans until it is in).
    public var buildsGraph: Bool { lock.withReadLock { compactRows != nil } }
    private let lock = ReadWriteLock()
    private let swapLock = NSLock()
    /// One save of the graph files at a time: a stop's save waits for the background build's, so
    /// the description it writes names the graph file that stays.
    private let saveLock = NSLock()
    // Guarded by `lock`.
    private var graph: HNSWIndex?
    private var origin: String
    /// The rows in compact form while the graph builds: what requests scan meanwhile.
    private var compactRows: CompactRows?
    /// The background build, when there is one (what `waitForGraph` waits for).
    private var graphJob: ThreadJob<Void>?
    private var products: [Product] = []
    private var storeIDs: [Int64] = []
    private var rows: [String: Int] = [:]
    /// Row of each store row id. A map, not a table indexed by id: PostgreSQL's identity values
    /// advance on every upsert of an existing product, so ids are not dense, and a table sized by
    /// the largest id grew with every re-upsert.
    private var rowOfStoreID: [Int64: Int32] = [:]
    private let vectors: CatalogueVectorRows
    /// Per row, what request filters look at, kept flat so a filter never copies a `Product`.
    private var eligible: [Bool] = []
    private var categoryKeys: [String] = []
    private var brandKeys: [String] = []
    private var prices: [Double] = []
    private var popularity = Popularity(productCount: 0)
    private var alive: [Bool] = []
    private var liveCount = 0
    /// The trained model in use (nil: the language-model vectors alone) and its product
    /// representations, one row per catalogue row.
    private var model: ServingModel?
    private var modelVectors: [Float] = []
    /// An HNSW graph over `modelVectors`, keyed like `index`, for large catalogues; see `ModelGraph`.
    private var modelIndex: ModelGraph?
    /// Where a model's graph is saved to, and from what size there is one.
    private let indexOptions: IndexOptions
    /// The shared store's change-log position the popularity was read at: a follower applies the
    /// changes after it (`StoreFollower`).
    public internal(set) var loadedAtChange: Int64 {
        get { lock.withReadLock { changePosition } }
        set { lock.withWriteLock { changePosition = newValue } }
    }
    private var changePosition: Int64 = 0
    /// Bumped by every upsert; `rowRevision[row]` is the revision that last changed a row, so a
    /// model built from an older snapshot knows which rows to redo.
    private var revision: UInt64 = 0
    private var rowRevision: [UInt64] = []
    /// Per row, the store's version of the product as read (-1: written since; `CatalogueSnapshot`).
    private var versions: [Int64] = []

    /// Loads every live product of the store with its vector and popularity from its events,
    /// and builds, or loads and reconciles, the HNSW graph when the catalogue is large.
    public static func load(from store: any CatalogueStore & ChangeFeed, vectors: [Float], dimension: Int,
                            indexOptions: IndexOptions = IndexOptions()) async throws -> LiveCatalogue {
        try await load(from: store, products: try await store.allProducts(), vectors: vectors, dimension: dimension, indexOptions: indexOptions)
    }

    /// As above, for products already read from the store (with `vectors` in their order).
    public static func load(from store: any CatalogueStore & ChangeFeed, products: [(rowID: Int64, product: Product)], vectors: [Float], dimension: Int,
                            indexOptions: IndexOptions = IndexOptions()) async throws -> LiveCatalogue {
        let (counts, position) = try await store.productEventCountsAndPosition()
        let deleted = products.count >= indexOptions.threshold ? try await store.deletedProductRowIDs() : []
        let catalogue = try LiveCatalogue(products: products, vectors: vectors, dimension: dimension, eventCounts: counts,
                                          deletedRowIDs: deleted, indexOptions: indexOptions)
        catalogue.loadedAtChange = position
        return catalogue
    }

    /// A catalogue from what was read from the store: live products with `vectors` in their
    /// order, event counts per product (popularity), and the row ids of deleted products (to take
    /// out of a saved graph).
    /// `versions`, when given, are the store's versions of the products, read before them (`CatalogueStore.productVersions`).
    public convenience init(products stored: [(rowID: Int64, product: Product)], vectors: [Float], dimension: Int,
                            eventCounts: [(productID: String, type: EventType, count: Int)], deletedRowIDs: [Int64],
                            versions: [(rowID: Int64, version: Int64)] = [], indexOptions: IndexOptions = IndexOptions()) throws {
        guard vectors.count == stored.count * dimension else {
            throw CuratorError.model("there are \(vectors.count / max(dimension, 1)) product vectors for \(stored.count) products; run curator embed")
        }
        let rows: CatalogueVectorRows
        // A large catalogue's vectors go to a file beside its graph, mapped: only the rows requests read stay resident.
        if stored.count >= indexOptions.threshold, indexOptions.mapsVectors, let path = indexOptions.path {
            if indexOptions.snapshotKey != nil {
                let files = CatalogueSnapshot.Files(graph: path)
                rows = try CatalogueVectorRows(vectors, dimension: dimension, file: files.vectors, describedBy: files.description)
            } else {
                rows = try CatalogueVectorRows(vectors, dimension: dimension, folder: (path as NSString).deletingLastPathComponent)
            }
        } else {
            rows = CatalogueVectorRows(vectors, dimension: dimension)
        }
        var index: HNSWIndex?, origin = "exact scan"
        let large = stored.count >= indexOptions.threshold
        let ids = stored.map(\.rowID)
        if large, let loaded = try Self.loadSavedIndex(ids: ids, vectors: vectors, dimension: dimension, deletedRowIDs: deletedRowIDs,
                                                        options: indexOptions) {
            (index, origin) = loaded
        } else if large && !indexOptions.buildsInBackground {
            (index, origin) = try Self.buildIndex(ids: ids, vectors: vectors, dimension: dimension, options: indexOptions)
        } else if large {
            origin = Self.scanWhileBuilding
        }
        let version = Dictionary(versions, uniquingKeysWith: { $1 })
        try self.init(products: stored.map(\.product), storeIDs: ids, versions: stored.map { version[$0.rowID] ?? -1 },
                      alive: [Bool](repeating: true, count: stored.count), vectors: rows, eventCounts: eventCounts,
                      index: index, indexOrigin: origin, indexOptions: indexOptions)
        if large && index == nil { buildGraphInBackground(ids: ids, vectors: vectors) }
    }

    /// The catalogue a snapshot describes, its vectors already mapped; its graph (`useGraph`) and
    /// popularity (`resetPopularity`) come next.
    convenience init(restoring snapshot: CatalogueSnapshot, vectors: CatalogueVectorRows, indexOptions: IndexOptions) throws {
        try self.init(products: snapshot.products, storeIDs: snapshot.storeIDs, versions: snapshot.versions, alive: snapshot.alive,
                      vectors: vectors, eventCounts: [], index: nil, indexOrigin: "restored", indexOptions: indexOptions)
    }

    /// Puts a graph loaded beside the catalogue in service (a restore reads the two at once).
    func useGraph(_ loaded: HNSWIndex) {
        lock.withWriteLock { graph = loaded }
    }

    private init(products: [Product], storeIDs: [Int64], versions: [Int64], alive: [Bool], vectors: CatalogueVectorRows,
                 eventCounts: [(productID: String, type: EventType, count: Int)], index: HNSWIndex?, indexOrigin: String,
                 indexOptions: IndexOptions) throws {
        precondition(storeIDs.count == products.count && versions.count == products.count && alive.count == products.count
                     && vectors.rowCount == products.count, "one row per product")
        dimension = vectors.dimension
        self.indexOptions = indexOptions
        self.products = products
        self.storeIDs = storeIDs
        self.versions = versions
        self.vectors = vectors
        self.alive = alive
        graph = index
        origin = indexOrigin
        rowRevision = [UInt64](repeating: 0, count: products.count)
        liveCount = alive.lazy.filter { $0 }.count
        var rows: [String: Int] = [:]
        rows.reserveCapacity(products.count)
        var rowOf: [Int64: Int32] = [:]
        rowOf.reserveCapacity(products.count)
        for (i, product) in products.enumerated() {
            rows[product.id] = i
            rowOf[storeIDs[i]] = Int32(i)
        }
        self.rows = rows
        rowOfStoreID = rowOf
        eligible = zip(products, alive).map { $0.inStock && $1 }
        categoryKeys = products.map { $0.category.lowercased() }
        brandKeys = products.map { $0.brand.lowercased() }
        prices = products.map { $0.priceValue ?? .nan }
        popularity = Popularity(productCount: products.count)
        for (productID, type, count) in eventCounts {
            if let row = rows[productID] { popularity.add(type, count: count, toProductAt: row) }
        }
    }

    /// The graph saved at `options.path`, brought up to date with the products (`ids`, `vectors`)
    /// and deletions; nil when there is none, it cannot be read, or more has changed than patching pays for.
    private static func loadSavedIndex(ids: [Int64], vectors: [Float], dimension: Int, deletedRowIDs: [Int64],
                                       options: IndexOptions) throws -> (HNSWIndex, String)? {
        let start = Date()
        guard let path = options.path, FileManager.default.fileExists(atPath: path),
              let loaded = try? HNSWIndex(contentsOf: path, dimension: dimension, parameters: graphParameters(options, count: ids.count)) else { return nil }
        // Bring the saved graph up to date: products added or re-encoded since, and deletions.
        var changedIDs: [Int64] = []
        var changedVectors: [Float] = []
        for (i, id) in ids.enumerated() {
            let current = vectors[(i * dimension)..<((i + 1) * dimension)]
            if loaded.storesSame(id: id, vector: Array(current)) { continue }
            changedIDs.append(id)
            changedVectors.append(contentsOf: current)
        }
        // Re-linking many existing nodes costs more than building afresh; patch only small drifts.
        guard changedIDs.count <= max(1_000, ids.count / 10) else { return nil }
        try loaded.upsert(ids: changedIDs, vectors: changedVectors)
        for id in deletedRowIDs where loaded.contains(id: id) { loaded.remove(id: id) }
        return (loaded, String(format: "loaded %@ in %.2f s (%d products brought up to date)", path, Date().timeIntervalSince(start), changedIDs.count))
    }

    /// What a background build inserts: a compact graph takes the compact rows the scans read, as
    /// they are stored, so the vectors read at start can go; a full-precision graph the vectors.
    private enum BuildInput {
        case vectors([Float])
        case compactRows(CompactRows)
    }

    /// A graph over the rows read at start (`ids`, `input`), not saved.
    private static func buildIndex(ids: [Int64], input: BuildInput, dimension: Int, options: IndexOptions) throws -> HNSWIndex {
        switch input {
        case .vectors(let vectors):
            return try buildIndex(ids: ids, vectors: vectors, dimension: dimension, options: options, saving: false).0
        case .compactRows(let rows):
            let built = try HNSWIndex(dimension: dimension, parameters: graphParameters(options, count: ids.count))
            try built.upsert(ids: ids, compactRows: rows)
            return built
        }
    }

    /// A graph built from the products (`ids`, `vectors`), saved at `options.path` unless `saving` is false.
    private static func buildIndex(ids: [Int64], vectors: [Float], dimension: Int, options: IndexOptions,
                                   saving: Bool = true) throws -> (HNSWIndex, String) {
        let start = Date()
        let built = try HNSWIndex(dimension: dimension, parameters: graphParameters(options, count: ids.count))
        try built.upsert(ids: ids, vectors: vectors)
        if saving, let path = options.path { try built.save(to: path) }
        return (built, String(format: "built in %.1f s", Date().timeIntervalSince(start)))
    }

    /// A saved graph if it can be brought up to date, else one built afresh (and saved).
    private static func prepareIndex(ids: [Int64], vectors: [Float], dimension: Int, deletedRowIDs: [Int64],
                                     options: IndexOptions) throws -> (HNSWIndex, String) {
        if let loaded = try loadSavedIndex(ids: ids, vectors: vectors, dimension: dimension, deletedRowIDs: deletedRowIDs, options: options) {
            return loaded
        }
        return try buildIndex(ids: ids, vectors: vectors, dimension: dimension, options: options)
    }

    private static func graphParameters(_ options: IndexOptions, count: Int) -> HNSWIndex.Parameters {
        var parameters = options.parameters
        parameters.initialCapacity = max(parameters.initialCapacity, count + count / 4)
        return parameters
    }

    /// Builds the graph over the rows read at start (`ids`, `vectors`) on a thread of its own,
    /// while requests are answered by scans of the rows' compact form; then adds what changed meanwhile (most of it
    /// off the lock, the rest with the swap, so no write is missed), puts it in service and saves it.
    private func buildGraphInBackground(ids: [Int64], vectors: [Float]) {
        let compact = CompactRows(vectors, dimension: dimension)
        let readAt = lock.withWriteLock {
            compactRows = compact
            return revision
        }
        let started = Date()
        // Built from the compact rows, the vectors read at start are let go now: one full-precision
        // copy (the mapped file) while the graph builds, not two.
        let input = HandOff((ids, indexOptions.parameters.compact ? BuildInput.compactRows(compact) : .vectors(vectors)))
        // A thread, not a task: minutes of CPU-bound work would hold a thread of the cooperative pool.
        let job = ThreadJob(name: "curator-graph-build") { [self] in
            indexOptions.beforeBackgroundBuild?()
            do {
                // Taken, so what the build reads is let go as soon as the graph holds it.
                guard let built = try input.take().map({ try Self.buildIndex(ids: $0, input: $1, dimension: dimension, options: indexOptions) }) else { return }
                let served = String(format: "built in %.1f s in the background (compact scans until then)", Date().timeIntervalSince(started))
                // A stop's save waits for this one, so the description it writes names the file that stays.
                try saveLock.withLock {
                    try putInService(built, changedAfter: readAt, origin: served)
                    guard let path = indexOptions.path else { return }
                    do { try built.save(to: path) } catch { indexOrigin = served + " (not saved: \(error))" }
                }
            } catch {
                lock.withWriteLock {
                    compactRows = nil
                    origin = "exact scan (the graph could not be built: \(error))"
                }
            }
        }
        lock.withWriteLock { graphJob = job }
    }

    /// Brings a graph built from the rows as of revision `readAt` up to date and makes it the one requests use.
    private func putInService(_ built: HNSWIndex, changedAfter readAt: UInt64, origin served: String) throws {
        var seen = readAt
        // Rounds off the lock while many rows changed; the last few go in under it, with the swap.
        for _ in 0..<8 {
            let (changed, now) = lock.withReadLock { (rowsChanged(after: seen), revision) }
            guard changed.ids.count > 256 else { break }
            try built.upsert(ids: changed.ids, vectors: changed.vectors)
            seen = now
        }
        try lock.withWriteLock {
            let changed = rowsChanged(after: seen)
            try built.upsert(ids: changed.ids, vectors: changed.vectors)
            for row in products.indices where !alive[row] && built.contains(id: storeIDs[row]) { built.remove(id: storeIDs[row]) }
            graph = built
            compactRows = nil
            origin = served
            // Re-ranking the scans' candidates read mapped rows all over the file.
            vectors.releaseResidentPages()
        }
    }

    /// Live rows written after `revision`, as graph ids and vectors. Call under the lock.
    private func rowsChanged(after revision: UInt64) -> (ids: [Int64], vectors: [Float]) {
        var ids: [Int64] = []
        var changed: [Float] = []
        for row in products.indices where alive[row] && rowRevision[row] > revision {
            ids.append(storeIDs[row])
            changed.append(contentsOf: vectors.row(row))
        }
        return (ids, changed)
    }

    /// Waits for a background graph build, if one runs, to finish (tests, benchmarks).
    public func waitForGraph() async {
        // The job catches its own errors: a failed build leaves the catalogue scanning exactly.
        try? await lock.withReadLock { graphJob }?.value
    }

    private func setRow(_ row: Int, forStoreID id: Int64) {
        rowOfStoreID[id] = Int32(row)
    }

    /// Saves the HNSW graph (if any) so the next start only has to reconcile it.
    public func saveIndex(to path: String) throws {
        saveLock.lock()
        defer { saveLock.unlock() }
        try index?.save(to: path)
        if let modelIndexPath = Self.modelIndexPath(path) { try lock.withReadLock { modelIndex }?.graph.save(to: modelIndexPath) }
        try describeCatalogue(graphPath: path)
    }

    /// Writes the catalogue's description beside the graph just saved at `graphPath`, when its
    /// vectors are in the file kept there (`CatalogueSnapshot`). Call with writes stopped.
    private func describeCatalogue(graphPath: String) throws {
        let files = CatalogueSnapshot.Files(graph: graphPath)
        guard let key = indexOptions.snapshotKey, index != nil, let graph = CatalogueSnapshot.FileIdentity(path: files.graph) else { return }
        let snapshot: CatalogueSnapshot? = try lock.withReadLock {
            guard vectors.persistentPath == files.vectors, let inode = vectors.fileInode else { return nil }
            try vectors.flush()
            return CatalogueSnapshot(key: key, products: products, storeIDs: storeIDs, versions: versions, alive: alive,
                                     vectorsInode: inode, graph: graph)
        }
        try snapshot?.write(to: files.description)
    }

    /// Rows whose product the store holds in another version, or that it has and this catalogue
    /// does not (with the store's version), and the live products the store no longer has.
    func differences(from stored: [(rowID: Int64, version: Int64)]) -> (changed: [(rowID: Int64, version: Int64)], removed: [String]) {
        lock.withReadLock {
            var changed: [(rowID: Int64, version: Int64)] = []
            var seen = [Bool](repeating: false, count: products.count)
            for entry in stored {
                if let row = rowOfStoreID[entry.rowID].map(Int.init) {
                    seen[row] = true
                    if alive[row] && versions[row] == entry.version { continue }
                }
                changed.append(entry)
            }
            let removed = products.indices.filter { alive[$0] && !seen[$0] }.map { products[$0].id }
            return (changed, removed)
        }
    }

    /// Store row ids of the live products written since they were read (whose store version is not known).
    func storeIDsWrittenSinceRead() -> [Int64] {
        lock.withReadLock { products.indices.filter { alive[$0] && versions[$0] < 0 }.map { storeIDs[$0] } }
    }

    /// Takes the store's versions of products this catalogue holds as the store does: a row
    /// whose product differs keeps no version (it is read again on the next start).
    func adoptVersions(_ stored: [(rowID: Int64, product: Product, version: Int64)]) {
        lock.withWriteLock {
            for entry in stored {
                guard let row = rowOfStoreID[entry.rowID].map(Int.init), alive[row], products[row] == entry.product else { continue }
                versions[row] = entry.version
            }
        }
    }

    func productID(ofStoreID id: Int64) -> String? {
        lock.withReadLock { rowOfStoreID[id].map { products[Int($0)].id } }
    }

    /// The trained model's graph lives beside the language-model one: STORE.model.hnsw.
    static func modelIndexPath(_ path: String?) -> String? {
        path.map { ($0 as NSString).deletingPathExtension + ".model.hnsw" }
    }

    public var count: Int { lock.withReadLock { liveCount } }

    /// Whether the graph in service holds the product (a test of what a background build takes in).
    package func graphHolds(_ productID: String) -> Bool {
        guard let graph = index, let storeID = lock.withReadLock({ rows[productID].map { storeIDs[$0] } }) else { return false }
        return graph.contains(id: storeID)
    }

    /// Whether the full-precision vectors are in a mapped file rather than in memory.
    package var vectorsAreMapped: Bool { lock.withReadLock { vectors.isMapped } }

    /// Entries in the map from store ids to rows: one per product ever held, however many times
    /// products were upserted (what a test of memory growth counts).
    package var storeIDEntries: Int { lock.withReadLock { rowOfStoreID.count } }

    /// Adds or replaces a product; it is ranked from the next request on.
    public func upsert(_ product: Product, storeID: Int64, vector: [Float]) throws {
        precondition(vector.count == dimension, "vector dimension")
        let graphBefore = index
        try graphBefore?.upsert(id: storeID, vector: vector)
        try upsertRow(product, storeID: storeID, vector: vector)
        // A background build put its graph in service meanwhile, perhaps before this row changed.
        if graphBefore == nil, let graph = index { try graph.upsert(id: storeID, vector: vector) }
    }

    /// Adds or replaces many products at once (no server is answering yet): the graph takes them
    /// in one batch, spread over the cores.
    func upsert(_ entries: [(product: Product, storeID: Int64, vector: [Float])]) throws {
        guard !entries.isEmpty else { return }
        let graphBefore = index
        try graphBefore?.upsert(ids: entries.map(\.storeID), vectors: entries.flatMap(\.vector))
        for entry in entries { try upsertRow(entry.product, storeID: entry.storeID, vector: entry.vector) }
        if graphBefore == nil, let graph = index { try graph.upsert(ids: entries.map(\.storeID), vectors: entries.flatMap(\.vector)) }
    }

    /// A product's row and everything kept per row, the graph aside.
    private func upsertRow(_ product: Product, storeID: Int64, vector: [Float]) throws {
        precondition(vector.count == dimension, "vector dimension")
        try lock.withWriteLock {
            revision += 1
            let row: Int
            if let existing = rows[product.id] {
                row = existing
                products[row] = product
                vectors.replace(row: row, with: vector)
                compactRows?.replace(row: row, with: vector)
                eligible[row] = product.inStock
                categoryKeys[row] = product.category.lowercased()
                brandKeys[row] = product.brand.lowercased()
                prices[row] = product.priceValue ?? .nan
                versions[row] = -1
                if !alive[row] {
                    alive[row] = true
                    liveCount += 1
                }
                rowRevision[row] = revision
            } else {
                // First, as the one step that can fail (the vector file may not grow): nothing else has changed then.
                try vectors.append(vector)
                compactRows?.append(vector)
                row = products.count
                rows[product.id] = products.count
                setRow(products.count, forStoreID: storeID)
                products.append(product)
                storeIDs.append(storeID)
                popularity.appendProduct()
                alive.append(true)
                eligible.append(product.inStock)
                categoryKeys.append(product.category.lowercased())
                brandKeys.append(product.brand.lowercased())
                prices.append(product.priceValue ?? .nan)
                rowRevision.append(revision)
                versions.append(-1)
                liveCount += 1
            }
            if let model {
                let d = model.dimension
                let representation = model.recommender.representations(languageModelVectors: vector, modelIndices: [row < model.knownRows ? row : nil])
                if row * d < modelVectors.count {
                    modelVectors.replaceSubrange((row * d)..<((row + 1) * d), with: representation)
                } else {
                    modelVectors.append(contentsOf: representation)
                }
                try modelIndex?.upsert(id: storeID, representation: representation)
            }
        }
    }

    /// The trained model in use, if any.
    public var servingModel: ServingModel? { lock.withReadLock { model } }

    /// Runs model swaps one at a time (a poll and a reload request may ask at once), so the
    /// second sees what the first installed instead of building the same model again.
    public func oneSwapAtATime<T>(_ body: () throws -> T) rethrows -> T {
        swapLock.lock()
        defer { swapLock.unlock() }
        return try body()
    }

    /// Swaps in a trained model (nil: back to the language-model vectors alone) without
    /// stopping requests: `build` gets the products and their vectors in row order, off the
    /// lock; rows added or changed meanwhile are brought up to date before the swap.
    /// `deletedRowIDs` (the store's deleted products) are taken out of a saved model graph.
    public func installModel(deletedRowIDs: [Int64], _ build: (_ productIDs: [String], _ vectors: [Float]) throws -> ServingModel?) throws {
        let (ids, snapshot, snapshotRevision, snapshotStoreIDs, snapshotLiveCount) = lock.withReadLock {
            (products.map(\.id), vectors.all, revision, storeIDs, liveCount)
        }
        guard let built = try build(ids, snapshot) else {
            lock.withWriteLock {
                model = nil
                modelVectors = []
                modelIndex = nil
            }
            return
        }
        let d = built.dimension
        let table = built.recommender.productTable
        precondition(table.count == ids.count * d, "the model was built for \(ids.count) products")
        // Large catalogues: the model's own graph, loaded and reconciled or built, still off the lock.
        var graph: ModelGraph?
        if snapshotLiveCount >= indexOptions.threshold {
            var options = indexOptions
            options.path = Self.modelIndexPath(indexOptions.path)
            // Learned vectors cluster less cleanly than the language model's: a wider beam keeps recall@10 ≥ 0.98.
            options.parameters.efSearch = max(options.parameters.efSearch, ModelGraph.efSearch)
            options.parameters.efConstruction = max(options.parameters.efConstruction, ModelGraph.efConstruction)
            // Full precision: its scores are the model's (the catalogue's graph alone is compact).
            options.parameters.compact = false
            let scale = ModelGraph.scale(of: table, dimension: d)
            let index = try Self.prepareIndex(ids: snapshotStoreIDs, vectors: ModelGraph.augmented(table, dimension: d, scale: scale),
                                              dimension: d + 1, deletedRowIDs: deletedRowIDs, options: options).0
            graph = ModelGraph(graph: index, dimension: d, scale: scale)
        }
        try lock.withWriteLock {
            var fresh = table
            fresh.reserveCapacity(products.count * d)
            for row in 0..<products.count where row >= ids.count || rowRevision[row] > snapshotRevision {
                let vector = vectors.row(row)
                let representation = built.recommender.representations(languageModelVectors: vector, modelIndices: [row < built.knownRows ? row : nil])
                if row < ids.count {
                    fresh.replaceSubrange((row * d)..<((row + 1) * d), with: representation)
                } else {
                    fresh.append(contentsOf: representation)
                }
                try graph?.upsert(id: storeIDs[row], representation: representation)
            }
            if let graph {
                for row in 0..<products.count where !alive[row] && graph.graph.contains(id: storeIDs[row]) { graph.graph.remove(id: storeIDs[row]) }
            }
            model = built
            modelVectors = fresh
            modelIndex = graph
        }
    }

    /// Takes a product out of recommendations. Returns false when it was not there.
    @discardableResult
    public func remove(_ productID: String) -> Bool {
        let storeID: Int64? = lock.withWriteLock {
            guard let row = rows[productID], alive[row] else { return nil }
            alive[row] = false
            eligible[row] = false
            liveCount -= 1
            return storeIDs[row]
        }
        guard let storeID else { return false }
        index?.remove(id: storeID)
        lock.withReadLock { modelIndex }?.graph.remove(id: storeID)
        return true
    }

    public func contains(_ productID: String) -> Bool {
        lock.withReadLock { rows[productID].map { alive[$0] } ?? false }
    }

    public func product(_ productID: String) -> Product? {
        lock.withReadLock { rows[productID].flatMap { alive[$0] ? products[$0] : nil } }
    }

    /// Replaces every live product's popularity with counts read from the store (after a bulk
    /// import, whose events were not counted one by one).
    public func resetPopularity(_ counts: [(productID: String, type: EventType, count: Int)]) {
        lock.withWriteLock {
            popularity = Popularity(productCount: products.count)
            for (productID, type, count) in counts {
                if let row = rows[productID] { popularity.add(type, count: count, toProductAt: row) }
            }
        }
    }

    /// Every product id in the catalogue that is live, for a follower to compare with the store.
    public var liveProductIDs: Set<String> {
        lock.withReadLock { Set(products.indices.filter { alive[$0] }.map { products[$0].id }) }
    }

    /// Counts events toward popularity. Only events the store has just stored as new may come
    /// here (`RecommendationEngine.record` sees to it): a re-sent duplicate is stored once, so it
    /// must count once.
    public func countTowardPopularity(_ newEvents: [(productID: String, type: EventType)]) {
        guard !newEvents.isEmpty else { return }
        lock.withWriteLock {
            for event in newEvents { if let row = rows[event.productID] { popularity.add(event.type, toProductAt: row) } }
        }
    }

    /// A consistent view for one request; valid only inside the closure.
    public struct View {
        public let products: [Product]
        public let rows: [String: Int]
        public let storeIDs: [Int64]
        /// Row of each store row id.
        public let rowOfStoreID: [Int64: Int32]
        public let vectors: UnsafeBufferPointer<Float>
        /// Live and in stock.
        public let eligible: [Bool]
        /// Lower-cased category paths.
        public let categoryKeys: [String]
        /// Lower-cased brands.
        public let brandKeys: [String]
        /// Prices as numbers; NaN when a product has none.
        public let prices: [Double]
        public let popularity: [Float]
        public let alive: [Bool]
        public let dimension: Int
        public let index: HNSWIndex?
        /// Every row in compact form while the graph builds (nil otherwise): scanned instead of the graph.
        public let compactRows: CompactRows?
        /// The trained model in use and its product representations [rowCount × model.dimension].
        public let model: ServingModel?
        public let modelVectors: UnsafeBufferPointer<Float>
        /// The model's graph (large catalogues only).
        public let modelIndex: ModelGraph?

        public var rowCount: Int { products.count }

        public func row(ofStoreID id: Int64) -> Int? {
            rowOfStoreID[id].map(Int.init)
        }

        public func vector(_ row: Int) -> ArraySlice<Float> {
            Array(vectors[(row * dimension)..<((row + 1) * dimension)])[...]
        }
    }

    public func read<T>(_ body: (View) throws -> T) rethrows -> T {
        try lock.withReadLock {
            try vectors.withUnsafeBufferPointer { buffer in
                try modelVectors.withUnsafeBufferPointer { modelBuffer in
                    try body(View(products: products, rows: rows, storeIDs: storeIDs, rowOfStoreID: rowOfStoreID, vectors: buffer,
                                  eligible: eligible, categoryKeys: categoryKeys, brandKeys: brandKeys, prices: prices,
                                  popularity: popularity.scores, alive: alive, dimension: dimension, index: graph, compactRows: compactRows,
                                  model: model, modelVectors: modelBuffer, modelIndex: modelIndex))
                }
            }
        }
    }
}

/// The trained model's products in an HNSW graph. Its scores are inner products of vectors of
/// different lengths, which a proximity graph serves badly (recall@10 0.74 at 100,000 products);
/// so each representation x is stored as [x / M, √(1 − |x|² / M²)], M the longest norm, and a
/// query q as [q, 0]: every stored vector then has length 1, and q·x = M × (stored · query), so
/// the ranking and the scores are the model's own.
public struct ModelGraph: Sendable {
    /// Beam width of the model graph's searches (measured: see README, Serving).
    static let efSearch = 160
    /// Its build beam: the one its recall was measured with (the catalogue's graph builds with 100).
    static let efConstruction = 200
    public let graph: HNSWIndex
    public let dimension: Int
    public let scale: Float

    static func scale(of table: [Float], dimension d: Int) -> Float {
        var longest: Float = 0
        for row in 0..<(table.count / d) {
            var sum: Float = 0
            for c in 0..<d { sum += table[row * d + c] * table[row * d + c] }
            longest = max(longest, sum)
        }
        return max(longest.squareRoot(), .leastNormalMagnitude)
    }

    static func augmented(_ table: [Float], dimension d: Int, scale: Float) -> [Float] {
        let rows = table.count / d
        var out = [Float](repeating: 0, count: rows * (d + 1))
        for row in 0..<rows {
            var sum: Float = 0
            for c in 0..<d {
                let value = table[row * d + c] / scale
                out[row * (d + 1) + c] = value
                sum += value * value
            }
            // A product added later may be longer than M: its ranking stays exact, only its place in the graph is rougher.
            out[row * (d + 1) + d] = max(0, 1 - sum).squareRoot()
        }
        return out
    }

    func upsert(id: Int64, representation: [Float]) throws {
        try graph.upsert(id: id, vector: Self.augmented(representation, dimension: dimension, scale: scale))
    }

    /// The query as the graph takes it; the graph's scores times `scale` are the model's.
    func query(_ state: [Float]) -> [Float] { state + [0] }
}

/// A value one thread hands to another, which takes it once (and so lets it go when done with it).
private final class HandOff<Value>: @unchecked Sendable {
    private var value: Value?
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func take() -> Value? {
        lock.withLock {
            defer { value = nil }
            return value
        }
    }
}
