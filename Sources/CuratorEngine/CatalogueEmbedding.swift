import CuratorCore
import Foundation
import Storage
import TextModels

/// Brings the embedding cache up to date with the catalogue and returns the product vectors.
public struct CatalogueEmbedding: Sendable {
    /// Called with (done, total) after each saved batch.
    public typealias Progress = @Sendable (Int, Int) -> Void

    public let store: any CatalogueStore & EmbeddingStore
    public let encoder: any TextEncoder
    /// Where encoding runs when set (a server's encoder lane, so it never holds a thread of the
    /// cooperative pool); inline otherwise (the CLI, which has nothing else to do meanwhile).
    public var lane: WorkerLane?
    public var template = ProductTextTemplate.standard
    /// How the model was named when opened (`modelSpec`), recorded by `runAndRecord`.
    public var modelSpec: String?

    public init(store: any CatalogueStore & EmbeddingStore, encoder: any TextEncoder, template: ProductTextTemplate = .standard) {
        self.store = store
        self.encoder = encoder
        self.template = template
    }

    /// The store's language model: the one recorded by `curator embed`, else `requested` (a
    /// `--language-model` value or `$CURATOR_MODEL`), else the default. Asking for another model than the
    /// recorded one is an error unless `switching` (what `curator embed --language-model` does), because
    /// its vectors would not be comparable with the stored ones.
    public static func open(
        store: any CatalogueStore & EmbeddingStore, model requested: String?, options: SentenceEncoder.Options = .init(), switching: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> CatalogueEmbedding {
        let asked = [requested, environment[ModelFiles.environmentVariable]].compactMap { $0 }.first { !$0.isEmpty }
        let recorded = try await store.languageModel()
        let choice: String
        switch (asked, recorded) {
        case (let asked?, let recorded?) where !switching && modelSpec(asked) != recorded:
            throw CuratorError.configuration(
                "\(store.name) was embedded with \(recorded), not \(modelSpec(asked)); leave out --language-model (and CURATOR_MODEL) to use \(recorded), or run `curator embed --language-model \(asked)` to re-embed the catalogue with it")
        case (let asked?, _): choice = asked
        case (nil, let recorded?): choice = recorded
        case (nil, nil): choice = TextEncoders.defaultModel
        }
        let encoder: any TextEncoder
        do {
            encoder = try TextEncoders.load(choice, options: options)
        } catch {
            throw error.curatorError
        }
        // The first model used on a store is its model from then on: every vector cached here
        // will come from it (an explicit switch is recorded by `runAndRecord` once embedded).
        if recorded == nil { try await store.recordLanguageModel(modelSpec(choice)) }
        var embedding = CatalogueEmbedding(store: store, encoder: encoder)
        embedding.modelSpec = modelSpec(choice)
        return embedding
    }

    /// How a `--language-model` value is recorded: a known model by its name, anything else by its path.
    public static func modelSpec(_ model: String) -> String {
        let path = TextEncoders.resolve(model, environment: [:])
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        // A known model's folder under ./models is recorded by name; any other path as given
        // (a name resolves against the current folder, so recording it for an absolute path
        // would break commands run from elsewhere).
        for entry in TextEncoders.known where URL(fileURLWithPath: entry.folder).standardizedFileURL.path == standardized {
            return entry.name
        }
        return path
    }

    /// Share of unknown tokens above which the model is said not to read the catalogue.
    public static let unreadableShare = 0.05

    /// A warning when the model cannot read much of the catalogue (all-MiniLM-L6-v2 on Chinese
    /// titles: most characters become `[UNK]`), measured on up to 1,000 product texts.
    public func unreadableCatalogueWarning() async throws -> String? {
        let products = try await store.allProducts()
        let step = max(1, products.count / 1000)
        let sample = stride(from: 0, to: products.count, by: step).map { template.render(products[$0].product) }
        let share = encoder.unknownTokenShare(sample)
        guard share > Self.unreadableShare else { return nil }
        let advice = encoder.name == E5Encoder.name
            ? "its vectors will miss that text"
            : "semantic recommendations, search and reasons will be noise; embed with --language-model \(E5Encoder.name) (`curator models fetch \(E5Encoder.name)`), which reads Chinese and 100 other languages"
        return "\(String(format: "%.0f", share * 100))% of the catalogue's tokens are unknown to \(encoder.name): \(advice)"
    }

    /// `run`, then records this encoder as the store's model (`curator embed`).
    public func runAndRecord(batch: Int = 256, progress: Progress? = nil) async throws -> Report {
        let report = try await run(batch: batch, progress: progress)
        try await store.recordLanguageModel(modelSpec ?? encoder.name)
        return report
    }

    public struct Report: Sendable {
        public var encoded: Int
        public var cached: Int
        public var seconds: Double
    }

    public func run(batch: Int = 256, progress: Progress? = nil) async throws -> Report {
        let start = Date()
        let products = try await store.allProducts()
        let texts = products.map { template.render($0.product) }
        let hashes = texts.map(StoreDigest.text)
        let cached = try await store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        var seen = Set(cached.keys)
        var missing: [Int] = []
        for (i, hash) in hashes.enumerated() where seen.insert(hash).inserted { missing.append(i) }
        var done = 0
        progress?(0, missing.count)
        for chunk in stride(from: 0, to: missing.count, by: max(1, batch)) {
            let indices = Array(missing[chunk..<min(chunk + max(1, batch), missing.count)])
            let matrix = try await encode(indices.map { texts[$0] }, role: .passage)
            try await store.saveEmbeddings(modelID: encoder.modelID, indices.enumerated().map { (row, i) in (hashes[i], matrix[row]) })
            done += indices.count
            progress?(done, missing.count)
        }
        return Report(encoded: missing.count, cached: products.count - missing.count, seconds: Date().timeIntervalSince(start))
    }

    /// One vector per live product, encoding first whatever the cache lacks: what every command
    /// that ranks products needs before it starts.
    public func upToDateVectors(progress: Progress? = nil) async throws -> (vectors: [Float], dimension: Int) {
        let current = try await upToDateCatalogue(progress: progress)
        return (current.vectors, current.dimension)
    }

    /// The vector for one product's text, from the cache or freshly encoded (and then cached).
    public func vector(for product: Product) async throws -> [Float] {
        let text = template.render(product)
        let hash = StoreDigest.text(text)
        if let cached = try await store.cachedEmbeddings(modelID: encoder.modelID, hashes: [hash])[hash] { return cached }
        let vector = try await encode([text], role: .passage)[0]
        try await store.saveEmbeddings(modelID: encoder.modelID, [(hash, vector)])
        return vector
    }

    /// Vectors for many products at once (one batched forward pass for the uncached ones).
    public func vectors(for products: [Product]) async throws -> [[Float]] {
        let texts = products.map { template.render($0) }
        let hashes = texts.map(StoreDigest.text)
        var cached = try await store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        let missing = Array(Set(hashes.indices.filter { cached[hashes[$0]] == nil }.map { hashes[$0] }))
        if !missing.isEmpty {
            let firstIndex = Dictionary(hashes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let matrix = try await encode(missing.map { texts[firstIndex[$0]!] }, role: .passage)
            let fresh = missing.enumerated().map { ($1, matrix[$0]) }
            try await store.saveEmbeddings(modelID: encoder.modelID, fresh)
            for (hash, vector) in fresh { cached[hash] = vector }
        }
        return hashes.map { cached[$0]! }
    }

    /// The cached vector of each product's text, nil where none is stored: what a replica reads
    /// for a product another replica (or `curator embed`) encoded, never encoding it again.
    public func cachedVectors(for products: [Product]) async throws -> [[Float]?] {
        let hashes = products.map { StoreDigest.text(template.render($0)) }
        let cached = try await store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        return hashes.map { cached[$0] }
    }

    /// Rows of vectors for `texts`, encoded on `lane` when there is one.
    func encode(_ texts: [String], role: TextRole) async throws -> [[Float]] {
        let encoder = self.encoder
        let body: @Sendable () -> [[Float]] = {
            let matrix = encoder.encodeMatrix(texts, role: role)
            return (0..<texts.count).map { Array(matrix[$0]) }
        }
        guard let lane else { return body() }
        return try await lane.run(body)
    }

    /// The live products (in `interactionLog()` order) and their L2-normalised vectors (zeros
    /// where the cache has none), read once: the cached vectors stream straight into one matrix,
    /// which is most of a server's start.
    public func catalogueVectors() async throws -> CatalogueVectors {
        let products = try await store.allProducts()
        let dimension = encoder.dimension
        var rowsOfHash: [String: [Int]] = [:]
        rowsOfHash.reserveCapacity(products.count)
        for (i, entry) in products.enumerated() {
            rowsOfHash[StoreDigest.text(template.render(entry.product)), default: []].append(i)
        }
        var vectors = [Float](repeating: 0, count: products.count * dimension)
        var found = 0
        try await store.scanEmbeddings(modelID: encoder.modelID) { hash, bytes in
            guard let rows = rowsOfHash[hash], bytes.count == dimension * MemoryLayout<Float>.size else { return }
            vectors.withUnsafeMutableBytes { target in
                for row in rows {
                    UnsafeMutableRawBufferPointer(rebasing: target[(row * bytes.count)..<((row + 1) * bytes.count)]).copyMemory(from: bytes)
                }
            }
            found += rows.count
        }
        return CatalogueVectors(products: products, vectors: vectors, dimension: dimension, missing: products.count - found)
    }

    /// `catalogueVectors()`, encoding first whatever the cache lacks.
    public func upToDateCatalogue(progress: Progress? = nil) async throws -> CatalogueVectors {
        var current = try await catalogueVectors()
        if current.missing > 0 {
            _ = try await run(progress: progress)
            current = try await catalogueVectors()
        }
        return current
    }
}

/// Live products with their language-model vectors, row-major in the same order.
public struct CatalogueVectors: Sendable {
    public var products: [(rowID: Int64, product: Product)]
    public var vectors: [Float]
    public var dimension: Int
    /// Products whose text has no cached vector (their rows are zeros).
    public var missing: Int
}
