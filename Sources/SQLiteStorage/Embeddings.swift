import CuratorCore
import Foundation
import GRDB
import Storage

/// Embedding vectors cached by (model id, text hash): re-encoding a catalogue touches only
/// products whose text changed, and a second model keeps its own vectors beside the first.
extension CuratorStore {
    /// The cached vectors among `hashes`, by hash.
    public func cachedEmbeddings(modelID: String, hashes: [String]) throws -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        let wanted = Set(hashes)
        if wanted.count > 64 {
            // Many lookups: one scan of the model's vectors beats a query per hash.
            try scanEmbeddings(modelID: modelID) { hash, bytes in
                if wanted.contains(hash) { result[hash] = Self.floats(from: bytes) }
            }
            return result
        }
        return try read { db in
            let statement = try db.makeStatement(sql: "SELECT vector FROM embeddings WHERE model_id = ? AND text_hash = ?")
            for hash in wanted {
                if let data = try Data.fetchOne(statement, arguments: [modelID, hash]) {
                    result[hash] = Self.floats(from: data)
                }
            }
            return result
        }
    }

    /// Every cached vector of a model, as its text hash and raw little-endian Float bytes
    /// (valid only during the call), without building an array per vector.
    public func scanEmbeddings(modelID: String, _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT text_hash, vector FROM embeddings WHERE model_id = ?", arguments: [modelID])
            while let row = try rows.next() {
                let hash: String = row[0]
                try row.withUnsafeData(atIndex: 1) { data in
                    guard let data else { return }
                    try data.withUnsafeBytes { try body(hash, $0) }
                }
            }
        }
    }

    /// Stores vectors in one transaction; an interrupted `curator embed` keeps every batch it finished.
    public func saveEmbeddings(modelID: String, _ vectors: [(hash: String, vector: [Float])]) throws {
        try write { db in
            let statement = try db.makeStatement(sql: """
                INSERT INTO embeddings(model_id, text_hash, dimension, vector) VALUES (?, ?, ?, ?)
                ON CONFLICT(model_id, text_hash) DO UPDATE SET dimension = excluded.dimension, vector = excluded.vector
                """)
            for (hash, vector) in vectors {
                try statement.execute(arguments: [modelID, hash, vector.count, VectorBytes.data(vector)])
            }
        }
    }

    static func floats(from data: Data) -> [Float] { VectorBytes.floats(data) }

    static func floats(from bytes: UnsafeRawBufferPointer) -> [Float] { VectorBytes.floats(bytes) }
}
