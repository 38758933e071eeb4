import CuratorCore
import CuratorEngine
import CuratorServer
import Explanations
import Foundation
import XCTest

/// The hand-written recommendation JSON (the API's hottest response) is the document the
/// Codable types describe, byte for byte, on random lists: escapes, Chinese text, empty and
/// missing fields, every evidence source.
final class RecommendationJSONTests: XCTestCase {
    private var generator = SeededGenerator(seed: 20_261_206)

    private func text() -> String {
        let pieces = ["Trail", "Boots", "登山鞋", "\"quoted\"", "back\\slash", "tab\there", "new\nline", "ctl\u{01}\u{1f}", "é", "😀", "/slash", " ", ""]
        return (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined(separator: " ")
    }

    private func list() -> RecommendationList {
        let sources: [Evidence.Source] = [.personalModel, .similarToHistory, .similarToProduct, .popular, .personalisationOff, .featured]
        let items = (0..<Int.random(in: 0...6, using: &generator)).map { _ -> RecommendedItem in
            let cited = (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                Evidence.HistoryItem(productID: "P\(Int.random(in: 0...999, using: &generator))", title: text(),
                                     event: EventType.allCases.randomElement(using: &generator)!,
                                     similarity: Float.random(in: -1...1, using: &generator))
            }
            let evidence = Evidence(source: sources.randomElement(using: &generator)!, historyItems: cited,
                                    sharedBrand: Bool.random(using: &generator) ? text() : nil,
                                    sharedCategory: Bool.random(using: &generator) ? text() : nil)
            let score: Float = [Float.random(in: -50...50, using: &generator), 0, -0.0, 7, 1e-7, 1e20, 123_456.78, 0.1].randomElement(using: &generator)!
            var item = RecommendedItem(productID: "P\(Int.random(in: 0...99_999, using: &generator))", title: text(), score: score, reason: text(),
                                       evidence: evidence, position: Int.random(in: 0...100, using: &generator))
            item.rule = Bool.random(using: &generator) ? text() : nil
            return item
        }
        // Served lists carry an id, and an experiment and variant when one applies (null otherwise).
        let served = Bool.random(using: &generator)
        let inExperiment = Bool.random(using: &generator)
        return RecommendationList(shopper: text(), model: ["semantic", "popular", "sequential"].randomElement(using: &generator)!, items: items,
                                  recommendationID: served ? text() : nil, experiment: inExperiment ? text() : nil, variant: inExperiment ? text() : nil)
    }

    func testHandWrittenJSONIsTheCodableDocument() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for _ in 0..<500 {
            let list = list()
            let expected = try encoder.encode(list)
            let written = RecommendationJSON(list).bytes
            XCTAssertEqual(String(decoding: written, as: UTF8.self), String(decoding: expected, as: UTF8.self))
            XCTAssertEqual(try JSONDecoder().decode(RecommendationList.self, from: Data(written)), list)
        }
    }
}
