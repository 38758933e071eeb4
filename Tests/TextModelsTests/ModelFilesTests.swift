import Foundation
import TextModels
import XCTest

/// A temporary folder removed at the end of a test.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("curator-textmodels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file.path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}

/// Builds safetensors bytes from (name, dtype, shape, raw little-endian bytes).
func safetensors(_ tensors: [(String, String, [Int], [UInt8])]) -> [UInt8] {
    var header: [String] = []
    var data: [UInt8] = []
    for (name, dtype, shape, bytes) in tensors {
        header.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
        data += bytes
    }
    let json = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + header.joined(separator: ",") + "}").utf8)
    var length = UInt64(json.count).littleEndian
    return withUnsafeBytes(of: &length) { Array($0) } + json + data
}

func bytes(_ floats: [Float]) -> [UInt8] { floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }

final class SafetensorsTests: XCTestCase {
    func testReadsF32F16BF16() throws {
        let tmp = try TemporaryFolder()
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x7C00]  // 1, -2, 0.333, smallest subnormal, inf
        let bf16: [UInt16] = [0x3F80, 0xC040]  // 1, -3
        let path = try tmp.write("m.safetensors", safetensors([
            ("a", "F32", [2, 2], bytes([1, 2, 3, 4.5])),
            ("h", "F16", [5], f16.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }),
            ("b", "BF16", [2], bf16.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }),
        ]))
        let file = try SafetensorsFile(path: path)
        XCTAssertEqual(file.tensors["a"]?.shape, [2, 2])
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(try file.floats("a", shape: [2, 2]).array, [1, 2, 3, 4.5])
        let h = try file.floats("h").array
        XCTAssertEqual(h[0], 1); XCTAssertEqual(h[1], -2)
        XCTAssertEqual(h[2], 0.33325195, accuracy: 1e-7)
        XCTAssertEqual(h[3], 5.9604645e-08, accuracy: 1e-12)
        XCTAssertEqual(h[4], .infinity)
        XCTAssertEqual(try file.floats("b").array, [1, -3])
        XCTAssertThrowsError(try file.floats("a", shape: [4])) { XCTAssert("\($0)".contains("shape"), "\($0)") }
        XCTAssertThrowsError(try file.floats("nope")) { XCTAssert("\($0)".contains("nope"), "\($0)") }
    }

    func testTruncatedFileIsReportedWithItsName() throws {
        let tmp = try TemporaryFolder()
        let full = safetensors([("a", "F32", [4], bytes([1, 2, 3, 4]))])
        let path = try tmp.write("model.safetensors", Array(full.dropLast(5)))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
            let message = "\(error)"
            XCTAssert(message.contains(path), message)
            XCTAssert(message.contains("truncated"), message)
            XCTAssert(message.contains("curator models fetch"), message)
        }
        let tiny = try tmp.write("tiny.safetensors", [1, 2, 3])
        XCTAssertThrowsError(try SafetensorsFile(path: tiny)) { XCTAssert("\($0)".contains("tiny.safetensors"), "\($0)") }
        let badHeader = try tmp.write("bad.safetensors", [4, 0, 0, 0, 0, 0, 0, 0] + Array("{no}".utf8))
        XCTAssertThrowsError(try SafetensorsFile(path: badHeader)) { XCTAssert("\($0)".contains("JSON"), "\($0)") }
    }

    func testShapeAndByteCountMustAgree() throws {
        let tmp = try TemporaryFolder()
        let path = try tmp.write("m.safetensors", safetensors([("a", "F32", [3], bytes([1, 2, 3, 4]))]))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssert("\($0)".contains("16 bytes"), "\($0)") }
    }
}

final class ModelFilesTests: XCTestCase {
    func testMissingFolderAndFilesAreNamedWithTheFetchCommand() throws {
        let tmp = try TemporaryFolder()
        let missing = tmp.url.appendingPathComponent("no-such-model")
        XCTAssertThrowsError(try SentenceEncoder(modelDirectory: missing)) { error in
            XCTAssert("\(error)".contains(missing.path), "\(error)")
            XCTAssert("\(error)".contains("curator models fetch"), "\(error)")
        }
        try tmp.write("config.json", "{}")
        XCTAssertThrowsError(try ModelFiles(directory: tmp.url)) { error in
            XCTAssertEqual(error as? TextModelError, .missingFile(path: tmp.url.appendingPathComponent("model.safetensors").path))
            XCTAssert("\(error)".contains("model.safetensors is missing"), "\(error)")
            XCTAssert("\(error)".contains("curator models fetch"), "\(error)")
        }
    }

    func testTruncatedConfigAndMismatchedWeightsAreReported() throws {
        let tmp = try TemporaryFolder()
        try tmp.write("config.json", "{\"hidden_size\": 8, \"num_hid")
        try tmp.write("model.safetensors", safetensors([("x", "F32", [1], bytes([0]))]))
        try tmp.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
        XCTAssertThrowsError(try ModelFiles(directory: tmp.url)) { XCTAssert("\($0)".contains("config.json"), "\($0)") }

        try tmp.write("config.json", """
            {"model_type": "bert", "vocab_size": 4, "hidden_size": 8, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}
            """)
        let files = try ModelFiles(directory: tmp.url)
        XCTAssertEqual(files.config.hiddenSize, 8)
        XCTAssertEqual(files.maxSequenceLength, 16)
        XCTAssertEqual(files.pooling, PoolingConfig())
        XCTAssertThrowsError(try SentenceEncoder(modelDirectory: tmp.url)) { error in
            XCTAssert("\(error)".contains("model.safetensors"), "\(error)")
            XCTAssert("\(error)".contains("embeddings.word_embeddings.weight"), "\(error)")
        }
    }

    func testDirectoryResolutionOrder() {
        XCTAssertEqual(ModelFiles.resolveDirectory(explicit: "/a", environment: ["CURATOR_MODEL": "/b"]).path, "/a")
        XCTAssertEqual(ModelFiles.resolveDirectory(explicit: nil, environment: ["CURATOR_MODEL": "/b"]).path, "/b")
        XCTAssertEqual(ModelFiles.resolveDirectory(explicit: nil, environment: [:]).lastPathComponent, "all-MiniLM-L6-v2")
    }

    func testRealModelSettingsAndID() throws {
        let encoder = try Shared.requireEncoder()
        XCTAssertEqual(encoder.dimension, 384)
        XCTAssertEqual(encoder.maxSequenceLength, 256)
        XCTAssertTrue(encoder.files.normalize)
        XCTAssertEqual(encoder.files.pooling, PoolingConfig(meanTokens: true))
        XCTAssert(encoder.modelID.hasPrefix("all-MiniLM-L6-v2@"), encoder.modelID)
        XCTAssertEqual(encoder.modelID, try encoder.files.modelID(), "stable across calls")
        let long = Array(repeating: "word", count: 600).joined(separator: " ")
        XCTAssertEqual(encoder.tokenize(long).count, 256)
    }
}
