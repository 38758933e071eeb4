import Foundation
import TestSupport
import TextModels
import XCTest

/// Paths the tests need, found from this file's location so tests run from any directory.
enum TestPaths {
    /// The repository root (two levels above Tests/TextModelsTests).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// ../shared beside the repository.
    static let shared: URL = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let model: URL = repoRoot.appendingPathComponent(ModelFiles.defaultRelativePath)
    /// The parity reference lives in the repository (Tests/Fixtures/minilm/README.md says where it came from).
    static let reference: URL = repoRoot.appendingPathComponent("Tests/Fixtures/minilm/reference.jsonl")
}

struct ReferenceRecord {
    var text: String
    var inputIDs: [Int32]
    var embedding: [Float]
}

/// The model is loaded once for all tests (loading reads 90 MB).
enum Shared {
    static let encoder: Result<SentenceEncoder, Error> = Result {
        try SentenceEncoder(modelDirectory: TestPaths.model)
    }

    static func requireEncoder() throws -> SentenceEncoder {
        if !FileManager.default.fileExists(atPath: TestPaths.model.appendingPathComponent("model.safetensors").path) {
            throw Prerequisite.missing("model folder \(TestPaths.model.path) is absent; run curator models fetch all")
        }
        return try encoder.get()
    }

    static func requireReference() throws -> [ReferenceRecord] {
        // Part of the repository, so its absence is a broken checkout, never a reason to skip.
        let data = try Data(contentsOf: TestPaths.reference)
        var records: [ReferenceRecord] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let text = try XCTUnwrap(object["text"] as? String)
            let ids = try XCTUnwrap(object["input_ids"] as? [NSNumber]).map { $0.int32Value }
            let embedding = try XCTUnwrap(object["embedding"] as? [NSNumber]).map { $0.floatValue }
            records.append(ReferenceRecord(text: text, inputIDs: ids, embedding: embedding))
        }
        return records
    }
}

func cosine(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
}
