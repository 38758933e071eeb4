import CuratorCore
import Foundation
import GRDB
import Storage

/// Which language model made the store's product vectors (`store_meta.language_model`).
///
/// Why it is recorded: vectors of two models live in different spaces, so a server, a search
/// query or a training run must use the model the catalogue was embedded with; `curator embed
/// --language-model` is the one place that changes it.
extension CuratorStore {
    static let languageModelKey = "language_model"

    /// The model recorded by the last `curator embed` (a model name or a folder), or nil for a
    /// store never embedded.
    public func languageModel() throws -> String? {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = ?", arguments: [Self.languageModelKey])
                .map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Records `model` as the store's language model.
    public func recordLanguageModel(_ model: String) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO store_meta(key, value) VALUES (?, ?)",
                arguments: [Self.languageModelKey, Data(model.utf8)])
        }
    }
}
