import CuratorCore
import Foundation
import PostgresNIO
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import XCTest

/// The embedding cache on PostgreSQL gives back exactly what the SQLite store gives back.
final class PostgresEmbeddingsTests: XCTestCase {
    private let logger = TestDatabase.logger

    func testVectorsComeBackBitForBitAsFromTheSQLiteStore() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-pg-embeddings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqlite = try CuratorStore(path: folder.appendingPathComponent("s.sqlite").path, secret: .store)
        var generator = SeededGenerator(seed: 11)
        func vector(_ d: Int) -> [Float] { (0..<d).map { _ in Float.random(in: -1...1, using: &generator) } }
        let first = (0..<300).map { (hash: "h\($0)", vector: vector(384)) }
        // Replaces h5, adds a vector of another width, and names h7 twice (the last one counts).
        let second = [(hash: "h5", vector: vector(384)), (hash: "wide", vector: vector(768)),
                      (hash: "h7", vector: vector(384)), (hash: "h7", vector: [Float.nan, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude])]
        try await TestDatabase.withFreshSchema(migrated: true) { connections, _ in
            let db = connections[0]
            for batch in [first, second] {
                try sqlite.saveEmbeddings(modelID: "m@1", batch)
                try await PostgresEmbeddings.save(modelID: "m@1", batch, on: db, logger: logger)
            }
            try await PostgresEmbeddings.save(modelID: "other@2", [(hash: "h1", vector: [1, 2, 3])], on: db, logger: logger)
            let hashes = ["h0", "h5", "h7", "wide", "h299", "missing", "h5"]
            let expected = try sqlite.cachedEmbeddings(modelID: "m@1", hashes: hashes)
            let got = try await PostgresEmbeddings.cached(modelID: "m@1", hashes: hashes, on: db, logger: logger)
            XCTAssertEqual(Set(got.keys), ["h0", "h5", "h7", "wide", "h299"])
            XCTAssertEqual(Set(got.keys), Set(expected.keys))
            for (hash, vector) in expected {
                // Compared as bits: NaN and -0.0 must survive too.
                XCTAssertEqual(got[hash]?.map(\.bitPattern), vector.map(\.bitPattern), hash)
            }
            let other = try await PostgresEmbeddings.cached(modelID: "other@2", hashes: ["h1", "h0"], on: db, logger: logger)
            XCTAssertEqual(other, ["h1": [1, 2, 3]])
        }
    }
}
