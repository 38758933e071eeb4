import CuratorCore
import Foundation
import GRDB
import Storage

extension StoredPseudonymSecret {
    /// The secret to pseudonymise with, after checking it against the store. Reads only, unless
    /// the store is new and needs its secret or fingerprint written.
    static func open(_ pool: DatabasePool, path: String, external: PseudonymSecret?) throws -> PseudonymSecret {
        if let secret = try pool.read({ db in try resolve(db, path: path, external: external, mayWrite: false) }) {
            return secret
        }
        // Decided again inside the write, so two processes creating one store agree on one secret.
        return try pool.write { db in
            guard let secret = try resolve(db, path: path, external: external, mayWrite: true) else {
                throw PseudonymSecretError.missing(store: path)
            }
            return secret
        }
    }

    /// The secret for this store, or nil when something must be written first and `mayWrite` is false.
    private static func resolve(_ db: Database, path: String, external: PseudonymSecret?, mayWrite: Bool) throws -> PseudonymSecret? {
        let storedBytes = try Data.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [secretKey]).map { [UInt8]($0) }
        let fingerprint = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [fingerprintKey])
        switch try decide(storedSecret: storedBytes, fingerprint: fingerprint, hasShoppers: try hasShoppers(db), external: external, store: path) {
        case .use(let secret):
            return secret
        case .keepFingerprint(let secret):
            guard mayWrite else { return nil }
            try db.execute(sql: "INSERT INTO store_meta(key, value) VALUES (?, ?)", arguments: [fingerprintKey, secret.fingerprint])
            return secret
        case .keepSecret(let secret):
            guard mayWrite else { return nil }
            try db.execute(sql: "INSERT INTO store_meta(key, value) VALUES (?, ?)", arguments: [secretKey, Data(secret.bytes)])
            return secret
        }
    }

    private static func hasShoppers(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM shoppers)") ?? false
    }
}

extension CuratorStore {
    /// Where this store's pseudonym secret is kept now.
    public func pseudonymSecretLocation() throws -> PseudonymSecretLocation {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [StoredPseudonymSecret.secretKey]) == nil
                ? .outside : .store
        }
    }

    /// The secret kept in the store, for `curator secret export`; refused when it is kept outside.
    public func storedPseudonymSecret() throws -> PseudonymSecret {
        let data = try read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [StoredPseudonymSecret.secretKey])
        }
        guard let data else { throw PseudonymSecretError.notInStore(store: path) }
        return try PseudonymSecret(bytes: [UInt8](data), origin: path)
    }

    /// Takes the secret out of the store, leaving its fingerprint, so a copy of the database alone
    /// no longer re-derives pseudonyms. Only when the store was opened with that secret given from
    /// outside (checked against the store on opening), so the store stays usable afterwards.
    ///
    /// The freed bytes are zeroed (`secure_delete`) and the write-ahead log is checkpointed and
    /// truncated, so the secret does not linger in free pages or old log frames of this file.
    /// Copies and backups made before still hold it.
    public func removeStoredPseudonymSecret() throws {
        guard pseudonymSecretIsExternal else { throw PseudonymSecretError.removeNeedsExternal(store: path) }
        let fingerprint = pseudonymSecretFingerprint
        try write { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "INSERT OR REPLACE INTO store_meta(key, value) VALUES (?, ?)",
                           arguments: [StoredPseudonymSecret.fingerprintKey, fingerprint])
            try db.execute(sql: "DELETE FROM store_meta WHERE key = ?", arguments: [StoredPseudonymSecret.secretKey])
            // Zeroing happens as cells and pages are freed, so later writes need not pay for it.
            try db.execute(sql: "PRAGMA secure_delete = OFF")
        }
        try checkpointAndTruncateLog()
    }

    /// Copies the write-ahead log into the database file and empties it; refused while another
    /// connection still reads an older snapshot, which would keep old frames alive.
    private func checkpointAndTruncateLog() throws {
        let busy = try withoutTransaction { db in
            try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)").map { $0[0] as Int } ?? 0
        }
        guard busy == 0 else {
            throw CuratorError.storage("\(path): the secret is removed, but another process holds the store open, so its write-ahead log may still hold the secret; run the command again once nothing else uses the store")
        }
    }
}
