import CuratorCore
import Foundation
import GRDB
import Storage

/// The embedded default store: one SQLite file in WAL mode holding the catalogue, pseudonymous
/// shoppers, events, cached embeddings, evaluation splits and trained model versions.
///
/// Writes go through one serialized writer; reads run concurrently (GRDB `DatabasePool`).
public final class CuratorStore: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Maps the shop's shopper ids to the keys stored here, under the pseudonym secret (kept in
    /// the store by default, or outside it: see `PseudonymSecret`).
    public let pseudonymizer: ShopperPseudonymizer
    /// True when the secret was given from outside (file or environment) rather than read from the store.
    public let pseudonymSecretIsExternal: Bool
    /// Identifies the secret in use without revealing it (safe to print or log).
    public let pseudonymSecretFingerprint: String

    /// The store used when none is named: `--store`, then `CURATOR_STORE`, then `./curator.sqlite`.
    public static func defaultPath(explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = ProcessInfo.processInfo.environment["CURATOR_STORE"], !env.isEmpty { return env }
        return "curator.sqlite"
    }

    /// Opens the store at `path`, creating and migrating it as needed. The pseudonym secret comes
    /// from `secret` (by default the environment, else the store's own); a secret that does not
    /// match the store's pseudonyms is refused with `PseudonymSecretError.mismatch`.
    public init(path: String, secret: PseudonymSecretSource = .environment) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL + NORMAL: a process crash (even kill -9) never loses a committed transaction.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            let external = try secret.resolve()
            let opened = try StoredPseudonymSecret.open(pool, path: path, external: external)
            pseudonymizer = ShopperPseudonymizer(secret: opened)
            pseudonymSecretIsExternal = external != nil
            pseudonymSecretFingerprint = opened.fingerprint
        } catch let error as DatabaseError {
            throw CuratorError.storage("\(path): \(error.message ?? error.description)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE store_meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE products(
                    id INTEGER PRIMARY KEY,
                    product_key TEXT NOT NULL UNIQUE,
                    title TEXT NOT NULL DEFAULT '',
                    description TEXT NOT NULL DEFAULT '',
                    brand TEXT NOT NULL DEFAULT '',
                    category TEXT NOT NULL DEFAULT '',
                    price TEXT,
                    in_stock INTEGER NOT NULL DEFAULT 1,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE shoppers(
                    id INTEGER PRIMARY KEY,
                    shopper_key TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE events(
                    id INTEGER PRIMARY KEY,
                    shopper_id INTEGER NOT NULL REFERENCES shoppers(id),
                    product_id INTEGER NOT NULL REFERENCES products(id),
                    type INTEGER NOT NULL,
                    ts INTEGER NOT NULL,
                    quantity INTEGER,
                    price TEXT
                );
                -- An event identical in every column to a stored one counts once.
                CREATE UNIQUE INDEX events_identity ON events(
                    shopper_id, ts, product_id, type, ifnull(quantity, -1), ifnull(price, ''));
                CREATE INDEX events_product ON events(product_id);
                CREATE TABLE embeddings(
                    model_id TEXT NOT NULL,
                    text_hash TEXT NOT NULL,
                    dimension INTEGER NOT NULL,
                    vector BLOB NOT NULL,
                    PRIMARY KEY(model_id, text_hash)
                ) WITHOUT ROWID;
                CREATE TABLE trained_models(
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    data_fingerprint TEXT NOT NULL,
                    parameters TEXT NOT NULL,
                    metrics TEXT NOT NULL,
                    payload BLOB,
                    UNIQUE(name, version)
                );
                CREATE TABLE splits(
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    parameters TEXT NOT NULL,
                    data_fingerprint TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE split_events(
                    split_id INTEGER NOT NULL REFERENCES splits(id) ON DELETE CASCADE,
                    event_id INTEGER NOT NULL REFERENCES events(id),
                    part TEXT NOT NULL,
                    PRIMARY KEY(split_id, event_id)
                ) WITHOUT ROWID;
                """)
            // The pseudonym secret (or, when it is kept outside, its fingerprint) is written after
            // the migrations by `StoredPseudonymSecret.open`, which knows where it comes from.
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE evaluations(
                    id INTEGER PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    report TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("shopper-last-seen") { db in
            // Each shopper's newest event time, indexed, so "the most recently active shoppers"
            // reads a few index entries instead of grouping the whole event table. Kept by
            // `EventWriter.finish()` once per shopper and transaction (a trigger per event made
            // imports 2.8 times slower).
            try db.execute(sql: """
                ALTER TABLE shoppers ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
                UPDATE shoppers SET last_seen = ifnull((SELECT max(ts) FROM events WHERE events.shopper_id = shoppers.id), 0);
                CREATE INDEX shoppers_last_seen ON shoppers(last_seen, id);
                """)
        }
        migrator.registerMigration("online-log") { db in
            // One row per served list, its products packed in one text (`ServedList.packedProductIDs`).
            try db.execute(sql: """
                CREATE TABLE served_lists(
                    id TEXT PRIMARY KEY,
                    shopper_key TEXT,
                    surface INTEGER NOT NULL,
                    model TEXT NOT NULL,
                    model_version INTEGER,
                    experiment TEXT,
                    variant TEXT,
                    products TEXT NOT NULL,
                    teams BLOB,
                    served_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX served_lists_time ON served_lists(served_at);
                CREATE INDEX served_lists_shopper ON served_lists(shopper_key, served_at) WHERE shopper_key IS NOT NULL;
                CREATE TABLE seen_items(
                    recommendation_id TEXT NOT NULL,
                    positions TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                CREATE INDEX seen_items_list ON seen_items(recommendation_id);
                CREATE TABLE attributed_events(
                    recommendation_id TEXT NOT NULL,
                    shopper_key TEXT NOT NULL,
                    product_key TEXT NOT NULL,
                    type INTEGER NOT NULL,
                    quantity INTEGER,
                    price TEXT,
                    at INTEGER NOT NULL
                );
                CREATE INDEX attributed_events_list ON attributed_events(recommendation_id);
                CREATE TABLE experiments(
                    name TEXT PRIMARY KEY,
                    surface INTEGER NOT NULL,
                    method TEXT NOT NULL,
                    variants TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    stopped_at INTEGER
                );
                CREATE UNIQUE INDEX experiments_running ON experiments(surface) WHERE stopped_at IS NULL;
                """)
        }
        migrator.registerMigration("shopper-privacy") { db in
            try db.execute(sql: """
                CREATE TABLE shopper_preferences(
                    shopper_key TEXT PRIMARY KEY,
                    personalised INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("merchandising-rules") { db in
            // When each product was first stored, for rules over new products; rows from before
            // take their last update as the best estimate.
            try db.execute(sql: """
                ALTER TABLE products ADD COLUMN created_at INTEGER;
                UPDATE products SET created_at = updated_at;
                CREATE INDEX products_created ON products(created_at);
                CREATE TABLE merchandising_rules(
                    name TEXT PRIMARY KEY,
                    rule TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    /// The stored key for a shop's shopper id.
    public func shopperKey(for shopID: String) -> String {
        pseudonymizer.key(forShopID: shopID)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let error as DatabaseError {
            throw CuratorError.storage("\(path): \(error.message ?? error.description)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let error as DatabaseError {
            throw CuratorError.storage("\(path): \(error.message ?? error.description)")
        }
    }

    func withoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.writeWithoutTransaction(body) } catch let error as DatabaseError {
            throw CuratorError.storage("\(path): \(error.message ?? error.description)")
        }
    }
}
