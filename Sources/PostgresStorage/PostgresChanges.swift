import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// The change log of a PostgreSQL store (migration `change-log`): how replicas learn of each
/// other's writes.
enum PostgresChanges {
    /// Logs what the caller's transaction changed, as its last statement (the clock row stays
    /// locked only until commit); returns the change's sequence number.
    @discardableResult
    static func log(_ kind: StoreChange.Kind, productKeys: [String] = [], eventIDs: [Int64] = [], origin: String,
                    on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let now = Timestamps.nowMillis()
        var sequence: Int64 = 0
        for try await seq in try await connection.query("""
            WITH clock AS (UPDATE store_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq)
            INSERT INTO change_log(seq, kind, product_keys, event_ids, origin, created_at)
            SELECT clock.seq, \(kind.rawValue), \(productKeys)::text[], \(eventIDs)::bigint[], \(origin), \(now) FROM clock
            RETURNING seq
            """, logger: logger).decode(Int64.self) {
            sequence = seq
        }
        return sequence
    }

    static func after(_ sequence: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [StoreChange] {
        var out: [StoreChange] = []
        for try await (seq, kind, keys, ids, origin) in try await connection.query("""
            SELECT seq, kind, product_keys, event_ids, origin FROM change_log WHERE seq > \(sequence) ORDER BY seq LIMIT \(Int64(limit))
            """, logger: logger).decode((Int64, Int16, [String], [Int64], String).self) {
            // A kind this version does not know (a newer replica's) is read as "anything may have changed".
            out.append(StoreChange(sequence: seq, kind: StoreChange.Kind(rawValue: kind) ?? .bulk, productKeys: keys, eventIDs: ids, origin: origin))
        }
        return out
    }

    static func position(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        var position: Int64 = 0
        for try await seq in try await connection.query("SELECT seq FROM store_clock WHERE id = 1", logger: logger).decode(Int64.self) {
            position = seq
        }
        return position
    }
}
