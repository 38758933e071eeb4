import Foundation
import Linear
import TextModels
import XCTest

/// Parity with Hugging Face + sentence-transformers on Tests/Fixtures/minilm/reference.jsonl (a copy of ../shared/reference/minilm/).
final class ReferenceParityTests: XCTestCase {
    func testTokenIDsMatchReferenceExactly() throws {
        let encoder = try Shared.requireEncoder()
        let records = try Shared.requireReference()
        XCTAssertEqual(records.count, 324)
        var mismatches: [String] = []
        for (i, record) in records.enumerated() {
            let ids = encoder.tokenize(record.text)
            if ids != record.inputIDs {
                mismatches.append("line \(i + 1) \(record.text.debugDescription.prefix(80)):\n  got      \(ids.prefix(40))\n  expected \(record.inputIDs.prefix(40))")
            }
        }
        XCTAssert(mismatches.isEmpty, "\(mismatches.count) texts tokenized differently:\n" + mismatches.prefix(10).joined(separator: "\n"))
    }

    func testEmbeddingsMatchReference() throws {
        let encoder = try Shared.requireEncoder()
        let records = try Shared.requireReference()
        let matrix = encoder.encodeMatrix(records.map(\.text))
        XCTAssertEqual(matrix.dimension, 384)
        var worst = (cosine: 1.0, line: 0)
        var bad: [String] = []
        for (i, record) in records.enumerated() {
            let c = cosine(matrix[i], record.embedding)
            if c < worst.cosine { worst = (c, i + 1) }
            if c < 0.9999 { bad.append("line \(i + 1) cosine \(c): \(record.text.prefix(60))") }
        }
        print("embedding parity: worst cosine \(worst.cosine) at line \(worst.line)")
        XCTAssert(bad.isEmpty, "\(bad.count) embeddings below cosine 0.9999:\n" + bad.prefix(10).joined(separator: "\n"))
    }

    /// Single-text calls, the batch-of-one path, and the OpenBLAS-threads path agree with batches.
    func testBatchingDoesNotChangeVectors() throws {
        let encoder = try Shared.requireEncoder()
        let records = try Shared.requireReference()
        let texts = Array(records.prefix(40).map(\.text))
        let batched = encoder.encodeMatrix(texts)
        let blas = try SentenceEncoder(modelDirectory: TestPaths.model, options: .init(threads: 2, batchSize: 7, parallelism: .splitColumns))
        let other = blas.encodeMatrix(texts)
        for i in [0, 5, 10, 22, 23] {
            let single = encoder.encode([texts[i]])[0]
            XCTAssertGreaterThan(cosine(single, batched[i]), 0.99999, "text \(i)")
            XCTAssertGreaterThan(cosine(other[i], batched[i]), 0.99999, "text \(i)")
        }
        XCTAssertEqual(encoder.encode([]).count, 0)
    }

    /// The path for CPUs without AVX2 (OpenBLAS products, portable C kernels) also matches the
    /// reference, so machines that cannot run the packed kernel still get the same vectors.
    func testPortablePathMatchesReference() throws {
        _ = try Shared.requireEncoder()
        let records = Array(try Shared.requireReference().prefix(60))
        let previous = Kernels.setUsesAVX2(false)
        defer { Kernels.setUsesAVX2(previous) }
        let portable = try SentenceEncoder(modelDirectory: TestPaths.model, options: .init(threads: 2, batchSize: 16))
        let matrix = portable.encodeMatrix(records.map(\.text))
        for (i, record) in records.enumerated() {
            XCTAssertGreaterThan(cosine(matrix[i], record.embedding), 0.9999, "line \(i + 1)")
        }
    }
}
