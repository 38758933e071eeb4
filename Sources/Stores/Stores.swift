import CuratorCore
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage

/// Opens the store a path or URL names: a PostgreSQL database (`postgres://…`) or a SQLite
/// file, created and migrated as needed. The CLI, the server and tests name stores the same way.
public enum Stores {
    /// The store used when none is named: `explicit` (`--store`), then `CURATOR_STORE`, then
    /// `./curator.sqlite`.
    public static func defaultLocation(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment["CURATOR_STORE"], !env.isEmpty { return env }
        return "curator.sqlite"
    }

    /// Opens `location` with its pseudonym secret from `secret`.
    public static func open(_ location: String, secret: PseudonymSecretSource = .environment) async throws -> any CuratorStoring {
        if isShared(location) { return try await PostgresStore.open(try PostgresLocation(url: location), secret: secret) }
        return try SQLiteStore(path: location, secret: secret)
    }

    /// Whether `location` names a store several servers share (PostgreSQL).
    public static func isShared(_ location: String) -> Bool { PostgresLocation.isPostgresURL(location) }
}
