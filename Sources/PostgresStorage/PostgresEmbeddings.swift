import CuratorCore
import Foundation
import PostgresNIO
import Storage

/// The embedding cache in a PostgreSQL store, keyed as the SQLite store's (model id, text hash), the
/// vectors in the same bytes (`VectorBytes`): a vector is encoded once, by whichever server took the
/// write, and every other server reads it.
public enum PostgresEmbeddings {
    /// Stores vectors in one transaction (replacing a vector stored before under the same key).
    public static func save(modelID: String, _ vectors: [(hash: String, vector: [Float])], on connection: PostgresConnection,
                            logger: Logger) async throws {
        guard !vectors.isEmpty else { return }
        // One statement per batch: the columns as arrays. A batch that names a hash twice keeps the last.
        var last: [String: Int] = [:]
        for (i, item) in vectors.enumerated() { last[item.hash] = i }
        let kept = vectors.indices.filter { last[vectors[$0].hash] == $0 }
        let hashes = kept.map { vectors[$0].hash }
        let dimensions = kept.map { Int32(vectors[$0].vector.count) }
        let blobs = kept.map { ByteBuffer(data: VectorBytes.data(vectors[$0].vector)) }
        do {
            try await connection.query("""
                INSERT INTO embeddings(model_id, text_hash, dimension, vector)
                SELECT \(modelID), h, d, v FROM unnest(\(hashes)::text[], \(dimensions)::integer[], \(blobs)::bytea[]) AS batch(h, d, v)
                ON CONFLICT (model_id, text_hash) DO UPDATE SET dimension = excluded.dimension, vector = excluded.vector
                """, logger: logger)
        } catch {
            throw CuratorError.storage("PostgreSQL: storing \(vectors.count) vectors: \(PostgresProbe.serverMessage(error))")
        }
    }

    /// The cached vectors among `hashes`, by hash.
    public static func cached(modelID: String, hashes: [String], on connection: PostgresConnection,
                              logger: Logger) async throws -> [String: [Float]] {
        let wanted = Array(Set(hashes))
        guard !wanted.isEmpty else { return [:] }
        do {
            var result: [String: [Float]] = [:]
            for try await (hash, bytes) in try await connection.query(
                "SELECT text_hash, vector FROM embeddings WHERE model_id = \(modelID) AND text_hash = ANY(\(wanted))", logger: logger
            ).decode((String, ByteBuffer).self) {
                result[hash] = bytes.withUnsafeReadableBytes { VectorBytes.floats($0) }
            }
            return result
        } catch {
            throw CuratorError.storage("PostgreSQL: reading cached vectors: \(PostgresProbe.serverMessage(error))")
        }
    }
}
