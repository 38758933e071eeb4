import CuratorCore
import Foundation
import Storage
import TextModels

/// Brings the embedding cache up to date with the catalogue and returns the product vectors.
public struct CatalogueEmbedding: Sendable {
    /// Called with (done, total) after each saved batch.
    public typealias Progress = @Sendable (Int, Int) -> Void

    public let store: CuratorStore
    public let encoder: SentenceEncoder
    public var template = ProductTextTemplate.standard

    public init(store: CuratorStore, encoder: SentenceEncoder, template: ProductTextTemplate = .standard) {
        self.store = store
        self.encoder = encoder
        self.template = template
    }

    public struct Report: Sendable {
        public var encoded: Int
        public var cached: Int
        public var seconds: Double
    }

    public func run(batch: Int = 256, progress: Progress? = nil) throws -> Report {
        let start = Date()
        let products = try store.allProducts()
        let texts = products.map { template.render($0.product) }
        let hashes = texts.map(CuratorStore.textHash)
        let cached = try store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        var seen = Set(cached.keys)
        var missing: [Int] = []
        for (i, hash) in hashes.enumerated() where seen.insert(hash).inserted { missing.append(i) }
        var done = 0
        progress?(0, missing.count)
        for chunk in stride(from: 0, to: missing.count, by: max(1, batch)) {
            let indices = Array(missing[chunk..<min(chunk + max(1, batch), missing.count)])
            let matrix = encoder.encodeMatrix(indices.map { texts[$0] })
            try store.saveEmbeddings(modelID: encoder.modelID, indices.enumerated().map { (row, i) in (hashes[i], Array(matrix[row])) })
            done += indices.count
            progress?(done, missing.count)
        }
        return Report(encoded: missing.count, cached: products.count - missing.count, seconds: Date().timeIntervalSince(start))
    }

    /// One vector per live product, encoding first whatever the cache lacks: what every command
    /// that ranks products needs before it starts.
    public func upToDateVectors(progress: Progress? = nil) throws -> (vectors: [Float], dimension: Int) {
        let current = try upToDateCatalogue(progress: progress)
        return (current.vectors, current.dimension)
    }

    /// The vector for one product's text, from the cache or freshly encoded (and then cached).
    public func vector(for product: Product) throws -> [Float] {
        let text = template.render(product)
        let hash = CuratorStore.textHash(text)
        if let cached = try store.cachedEmbeddings(modelID: encoder.modelID, hashes: [hash])[hash] { return cached }
        let vector = Array(encoder.encodeMatrix([text])[0])
        try store.saveEmbeddings(modelID: encoder.modelID, [(hash, vector)])
        return vector
    }

    /// Vectors for many products at once (one batched forward pass for the uncached ones).
    public func vectors(for products: [Product]) throws -> [[Float]] {
        let texts = products.map { template.render($0) }
        let hashes = texts.map(CuratorStore.textHash)
        var cached = try store.cachedEmbeddings(modelID: encoder.modelID, hashes: hashes)
        let missing = Array(Set(hashes.indices.filter { cached[hashes[$0]] == nil }.map { hashes[$0] }))
        if !missing.isEmpty {
            let firstIndex = Dictionary(hashes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let matrix = encoder.encodeMatrix(missing.map { texts[firstIndex[$0]!] })
            let fresh = missing.enumerated().map { ($1, Array(matrix[$0])) }
            try store.saveEmbeddings(modelID: encoder.modelID, fresh)
            for (hash, vector) in fresh { cached[hash] = vector }
        }
        return hashes.map { cached[$0]! }
    }

    /// The live products (in `interactionLog()` order) and their L2-normalised vectors (zeros
    /// where the cache has none), read once: the cached vectors stream straight into one matrix,
    /// which is most of a server's start.
    public func catalogueVectors() throws -> CatalogueVectors {
        let products = try store.allProducts()
        let dimension = encoder.dimension
        var rowsOfHash: [String: [Int]] = [:]
        rowsOfHash.reserveCapacity(products.count)
        for (i, entry) in products.enumerated() {
            rowsOfHash[CuratorStore.textHash(template.render(entry.product)), default: []].append(i)
        }
        var vectors = [Float](repeating: 0, count: products.count * dimension)
        var found = 0
        try vectors.withUnsafeMutableBytes { target in
            try store.scanEmbeddings(modelID: encoder.modelID) { hash, bytes in
                guard let rows = rowsOfHash[hash], bytes.count == dimension * MemoryLayout<Float>.size else { return }
                for row in rows {
                    UnsafeMutableRawBufferPointer(rebasing: target[(row * bytes.count)..<((row + 1) * bytes.count)]).copyMemory(from: bytes)
                }
                found += rows.count
            }
        }
        return CatalogueVectors(products: products, vectors: vectors, dimension: dimension, missing: products.count - found)
    }

    /// `catalogueVectors()`, encoding first whatever the cache lacks.
    public func upToDateCatalogue(progress: Progress? = nil) throws -> CatalogueVectors {
        var current = try catalogueVectors()
        if current.missing > 0 {
            _ = try run(progress: progress)
            current = try catalogueVectors()
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
