import CuratorCore
import Foundation
import Storage

/// Product changes: the one path by which products reach the store and the live catalogue,
/// whether a client sent them to this server (`upsertProducts`, `deleteProduct`) or another
/// server of a shared store committed them (`mirrorProducts`, which `StoreFollower` calls).
extension RecommendationEngine {
    /// Encodes, stores and indexes products; returns them as stored once they can be
    /// recommended. One product write at a time (the catalogue-writes gate), so the store and the
    /// live catalogue see writes in the same order; encoding and indexing go to the encoder lane
    /// a chunk at a time, so searches queued meanwhile wait for one chunk, not the lot.
    ///
    /// The vectors are stored before the products: by the time the write is committed, and other
    /// servers of a shared store learn of it, they read its vectors instead of encoding again.
    public func upsertProducts(_ products: [Product]) async throws -> [Product] {
        let embedding = try requireEmbedding("take new products")
        return try await lanes.catalogueWrites.run {
            let cleaned = products.map { $0.cleanedForStore() }
            var vectorOf: [String: [Float]] = [:]
            for chunk in cleaned.chunks(of: EngineLanes.encodingChunk) {
                for (product, vector) in zip(chunk, try await embedding.vectors(for: chunk)) { vectorOf[product.id] = vector }
            }
            let stored = try await store.upsertProducts(products)
            for chunk in stored.chunks(of: EngineLanes.encodingChunk) {
                let entries = chunk.map { (rowID: $0.rowID, product: $0.product, vector: vectorOf[$0.product.id] ?? []) }
                try await lanes.encoder.run { [self] in try index(entries) }
            }
            return stored.map(\.product)
        }
    }

    /// Takes a product out of the store and of recommendations (its events stay as history);
    /// false when there is no such live product.
    public func deleteProduct(id: String) async throws -> Bool {
        try await lanes.catalogueWrites.run {
            guard try await store.deleteProduct(id: id) else { return false }
            unindex([id])
            return true
        }
    }

    /// Brings these products to their state in the store, as another server left it: upserted
    /// with the vectors that server stored, or taken out when deleted. A product whose text has
    /// no stored vector yet (imported but not embedded) waits until one is stored; nothing is
    /// encoded here.
    func mirrorProducts(keys: [String]) async throws {
        for batch in keys.chunks(of: StoreFollower.page) {
            let stored = try await store.storedProducts(keys: batch)
            try await mirror(stored: stored, removed: Set(batch).subtracting(stored.map(\.product.id)))
        }
    }

    /// Brings the whole catalogue to the store's state (after a bulk import).
    func mirrorAllProducts() async throws {
        let live = try await store.allProducts()
        try await mirror(stored: live, removed: catalogue.liveProductIDs.subtracting(live.map(\.product.id)))
    }

    /// Upserts those of `stored` that changed and have a stored vector, and takes out `removed`.
    private func mirror(stored: [(rowID: Int64, product: Product)], removed: Set<String>) async throws {
        let embedding = try requireEmbedding("follow a shared store")
        try await lanes.catalogueWrites.run {
            // Only products that differ from the catalogue's need their vectors read (a bulk
            // resync compares the whole catalogue, most of it unchanged).
            let changed = stored.filter { catalogue.product($0.product.id) != $0.product }
            for batch in changed.chunks(of: StoreFollower.page) {
                let vectors = try await embedding.cachedVectors(for: batch.map(\.product))
                try index(zip(batch, vectors).compactMap { entry, vector in
                    vector.map { (rowID: entry.rowID, product: entry.product, vector: $0) }
                })
            }
            unindex(Array(removed))
        }
    }

    /// Puts stored products with their vectors into the live catalogue: ranked from the next request.
    private func index(_ entries: [(rowID: Int64, product: Product, vector: [Float])]) throws {
        // Products new to this replica are new for rules over new products (the store's time is read on the next rule change or restart).
        let added = entries.filter { catalogue.product($0.product.id) == nil }.map(\.product.id)
        for entry in entries { try catalogue.upsert(entry.product, storeID: entry.rowID, vector: entry.vector) }
        if !added.isEmpty { ruleBook.noteAdded(added, atMillis: Timestamps.nowMillis()) }
    }

    /// Takes products out of the live catalogue.
    private func unindex(_ productIDs: [String]) {
        for id in productIDs { catalogue.remove(id) }
    }

    func requireEmbedding(_ action: String) throws -> CatalogueEmbedding {
        guard let embedding else {
            throw CuratorError.configuration("this engine was loaded without a language model, so it cannot \(action)")
        }
        return embedding
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements, as arrays.
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
