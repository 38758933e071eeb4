import CuratorCore
import Foundation
import Storage
import Synchronization

/// Stored shopper keys held in memory and replaced whole (shoppers who turned personalisation off).
final class ShopperKeySet: Sendable {
    private let keys = Mutex(Set<String>())

    func contains(_ key: String) -> Bool { keys.withLock { $0.contains(key) } }
    func replace(with all: Set<String>) { keys.withLock { $0 = all } }
    func set(_ key: String, present: Bool) {
        keys.withLock { keys in
            if present { keys.insert(key) } else { keys.remove(key) }
        }
    }
}

/// A shopper's control over their data: personalised recommendations can be turned off (their
/// lists then use none of their history), and everything stored about them can be erased.
extension RecommendationEngine {
    /// Whether the shopper gets personalised recommendations (on unless they turned it off).
    public func isPersonalised(shopID: String) -> Bool { !withoutPersonalisation.contains(store.shopperKey(for: shopID)) }

    /// Stores the shopper's choice; this replica applies it at once, the others within a second
    /// (`refreshPreferences`, every second in a server).
    public func setPersonalised(_ personalised: Bool, shopID: String) async throws {
        let key = store.shopperKey(for: shopID)
        try await store.setPersonalised(personalised, shopperKey: key)
        withoutPersonalisation.set(key, present: !personalised)
    }

    /// Reads who turned personalisation off again.
    public func refreshPreferences() async throws { withoutPersonalisation.replace(with: try await store.shoppersWithoutPersonalisation()) }

    /// Erases the shopper: their events, preference, served lists and attributions, from the store
    /// in one transaction, then from this replica's memory (popularity counted afresh without their
    /// events, their cached history and unsaved lists dropped). Other replicas of a shared store
    /// follow the erasure from the change log. False when nothing is known of the shopper.
    public func eraseShopper(shopID: String) async throws -> Bool {
        let key = store.shopperKey(for: shopID)
        // Before, so a flush during the erase does not write their lists after it; after, for lists served meanwhile.
        online.forget(shopperKey: key)
        guard try await store.eraseShopper(shopperKey: key) != nil else { return false }
        online.forget(shopperKey: key)
        histories?.invalidate([key])
        withoutPersonalisation.set(key, present: false)
        catalogue.resetPopularity(try await store.productEventCounts())
        return true
    }
}
