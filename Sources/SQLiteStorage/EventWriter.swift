import CuratorCore
import GRDB
import Storage

/// Writes events inside one open transaction: finds or creates each shopper under their
/// pseudonym (cached per shop id) and inserts the event unless an identical one is stored.
/// Shared by file imports and the online API so both store events exactly the same way.
/// Call `finish()` before the transaction commits.
struct EventWriter {
    private let db: Database
    private let pseudonymizer: ShopperPseudonymizer
    private let now: Int64
    private let insertShopper: Statement
    private let findShopper: Statement
    private let insertEvent: RawStatement
    private var shoppers: [String: Int64] = [:]
    /// The newest event time written per shopper row, for `shoppers.last_seen`.
    private var lastSeen: [Int64: Int64] = [:]
    /// Shoppers this writer created.
    private(set) var newShoppers = 0

    init(db: Database, pseudonymizer: ShopperPseudonymizer) throws {
        self.db = db
        self.pseudonymizer = pseudonymizer
        now = Timestamps.nowMillis()
        insertShopper = try db.makeStatement(sql: "INSERT INTO shoppers(shopper_key, created_at) VALUES (?, ?) ON CONFLICT(shopper_key) DO NOTHING")
        findShopper = try db.makeStatement(sql: "SELECT id FROM shoppers WHERE shopper_key = ?")
        insertEvent = RawStatement(try db.makeStatement(sql: """
            INSERT OR IGNORE INTO events(shopper_id, product_id, type, ts, quantity, price) VALUES (?, ?, ?, ?, ?, ?)
            """))
    }

    /// Stores one event for the shop's shopper id (already cleaned) and a product row id.
    /// Returns false when an identical event was already stored.
    mutating func write(shopID: String, productRowID: Int64, type: EventType, timestampMillis: Int64,
                        quantity: Int64?, price: String?) throws -> Bool {
        let shopper: Int64
        if let cached = shoppers[shopID] {
            shopper = cached
        } else {
            let key = pseudonymizer.pseudonym(for: shopID)
            try insertShopper.execute(arguments: [key, now])
            if db.changesCount > 0 {
                shopper = db.lastInsertedRowID
                newShoppers += 1
            } else {
                shopper = try Int64.fetchOne(findShopper, arguments: [key]) ?? 0
            }
            shoppers[shopID] = shopper
        }
        insertEvent.bind(1, shopper)
        insertEvent.bind(2, productRowID)
        insertEvent.bind(3, Int64(type.code))
        insertEvent.bind(4, timestampMillis)
        insertEvent.bind(5, quantity)
        insertEvent.bind(6, price)
        guard try insertEvent.run(db) > 0 else { return false }
        if timestampMillis > lastSeen[shopper] ?? .min { lastSeen[shopper] = timestampMillis }
        return true
    }

    /// Moves each written shopper's `last_seen` forward (the index behind the recent-shoppers
    /// list): one update per shopper, not per event.
    mutating func finish() throws {
        let update = try db.makeStatement(sql: "UPDATE shoppers SET last_seen = max(last_seen, ?) WHERE id = ?")
        for (shopper, newest) in lastSeen { try update.execute(arguments: [newest, shopper]) }
        lastSeen.removeAll()
    }
}
