import CuratorCore
import GRDB
import GRDBSQLite
import Storage

/// Binds and steps a prepared GRDB statement through the SQLite C API, for bulk paths where
/// building `StatementArguments` per row would cost more than the insert itself.
struct RawStatement {
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }

    init(_ statement: Statement) { self.statement = statement }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var copy = value
        copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
                _ = sqlite3_bind_text(handle, index, chars.baseAddress, Int32(chars.count),
                                      unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
        }
    }

    /// Runs the statement once; returns the number of rows it changed.
    func run(_ db: Database) throws -> Int {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw CuratorError.storage(String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        return Int(sqlite3_changes(db.sqliteConnection))
    }
}
