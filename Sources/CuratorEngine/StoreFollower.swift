import CuratorCore
import Foundation
import Storage
import Synchronization

/// Keeps one server's in-memory catalogue in step with what the other servers of a shared store
/// commit: products they upsert or delete, events they store (popularity), models they save.
///
/// It applies the store's change log in order from the position the catalogue was loaded at,
/// so a server that was slow, disconnected or busy misses nothing and applies nothing twice.
/// Product changes apply the products' state now in the store (not what the change said), so
/// applying one again, or after this server's own later write, converges on the same catalogue.
/// Events this server stored itself were counted when it stored them and are skipped here.
public final class StoreFollower: Sendable {
    public let engine: RecommendationEngine
    public let embedding: CatalogueEmbedding
    /// Called when a model version was saved, or after a bulk import (swap it in off this path).
    let modelSaved: @Sendable () -> Void
    private let applied: Mutex<Int64>
    private let oneAtATime = SerialGate()
    /// Changes read per store call.
    static let page = 500

    public init(engine: RecommendationEngine, embedding: CatalogueEmbedding, modelSaved: @escaping @Sendable () -> Void) {
        self.engine = engine
        self.embedding = embedding
        self.modelSaved = modelSaved
        applied = Mutex(engine.catalogue.loadedAtChange)
    }

    /// The last change applied.
    public var position: Int64 { applied.withLock { $0 } }

    /// Applies every change committed since the last one applied; returns how many.
    @discardableResult
    public func catchUp() async throws -> Int {
        try await oneAtATime.run {
            var count = 0
            while true {
                let changes = try await engine.store.changes(after: position, limit: Self.page)
                for change in changes {
                    try await apply(change)
                    applied.withLock { $0 = max($0, change.sequence) }
                    count += 1
                }
                if changes.count < Self.page { return count }
            }
        }
    }

    private func apply(_ change: StoreChange) async throws {
        let store = engine.store
        switch change.kind {
        case .products:
            try await applyProducts(keys: change.productKeys)
        case .events:
            guard change.origin != store.origin else { return }
            let events = try await store.eventSummaries(ids: change.eventIDs)
            engine.catalogue.countTowardPopularity(events)
        case .model:
            modelSaved()
        case .bulk:
            // Anything may have changed: products compared whole, popularity counted afresh (it
            // includes every change up to `position`, so those are not applied again).
            let live = try await store.allProducts()
            try await apply(stored: live, removed: engine.catalogue.liveProductIDs.subtracting(live.map(\.product.id)))
            let (counts, position) = try await store.productEventCountsAndPosition()
            engine.catalogue.resetPopularity(counts)
            applied.withLock { $0 = max($0, position) }
            modelSaved()
        }
    }

    /// Brings these products to their state in the store: upserted with their stored vectors,
    /// or taken out when deleted. A product whose text has no stored vector yet (imported but not
    /// embedded) waits until one is stored; nothing is encoded here.
    private func applyProducts(keys: [String]) async throws {
        for start in stride(from: 0, to: keys.count, by: Self.page) {
            let batch = Array(keys[start..<min(start + Self.page, keys.count)])
            let stored = try await engine.store.storedProducts(keys: batch)
            try await apply(stored: stored, removed: Set(batch).subtracting(stored.map(\.product.id)))
        }
    }

    /// Upserts `stored` (those whose vector is stored, and changed) and takes out `removed`.
    private func apply(stored: [(rowID: Int64, product: Product)], removed: Set<String>) async throws {
        let catalogue = engine.catalogue
        for start in stride(from: 0, to: stored.count, by: Self.page) {
            let batch = Array(stored[start..<min(start + Self.page, stored.count)])
            let vectors = try await embedding.cachedVectors(for: batch.map(\.product))
            for (entry, vector) in zip(batch, vectors) {
                guard let vector, catalogue.product(entry.product.id) != entry.product else { continue }
                try catalogue.upsert(entry.product, storeID: entry.rowID, vector: vector)
            }
        }
        for key in removed { catalogue.remove(key) }
    }
}
