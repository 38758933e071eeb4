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
    let engine: RecommendationEngine
    /// Called when a model version was saved, or after a bulk import (swap it in off this path).
    let modelSaved: @Sendable () -> Void
    private let applied: Mutex<Int64>
    private let oneAtATime = SerialGate()
    /// Changes read per store call.
    static let page = 500

    public init(engine: RecommendationEngine, modelSaved: @escaping @Sendable () -> Void) {
        self.engine = engine
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
                // A recount (bulk, erasure) moves the position past changes it already includes: skip those.
                for change in changes where change.sequence > position {
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
            try await engine.mirrorProducts(keys: change.productKeys)
        case .events:
            guard change.origin != store.origin else { return }
            let events = try await store.eventSummaries(ids: change.eventIDs)
            engine.histories?.invalidate(events.map(\.shopperKey))
            engine.catalogue.countTowardPopularity(events.filter(\.countsTowardPopularity).map { (productID: $0.productID, type: $0.type) })
        case .model:
            modelSaved()
        case .erasure:
            // A shopper erased on another replica: their events are gone from popularity and from histories.
            engine.histories?.removeAll()
            let (counts, position) = try await store.productEventCountsAndPosition()
            engine.catalogue.resetPopularity(counts)
            applied.withLock { $0 = max($0, position) }
            try await engine.refreshPreferences()
        case .rules:
            try await engine.refreshRules()
        case .bulk:
            // Anything may have changed: products compared whole, popularity counted afresh (it
            // includes every change up to `position`, so those are not applied again).
            try await engine.mirrorAllProducts()
            engine.histories?.removeAll()
            let (counts, position) = try await store.productEventCountsAndPosition()
            engine.catalogue.resetPopularity(counts)
            applied.withLock { $0 = max($0, position) }
            modelSaved()
        }
    }
}
