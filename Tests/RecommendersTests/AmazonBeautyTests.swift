import CuratorCore
import Foundation
import Recommenders
import TestSupport
import XCTest

/// The baselines on the real amazon-beauty leave-one-out split, against published figures.
final class AmazonBeautyTests: XCTestCase {
    /// ../shared beside the repository root, found from this file's path.
    private static let eventsURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/amazon-beauty/events.csv")

    func testBaselinesOnLeaveOneOut() throws {
        guard FileManager.default.fileExists(atPath: Self.eventsURL.path) else {
            throw Prerequisite.missing("\(Self.eventsURL.path) is not there")
        }
        let started = Date()
        let log = try Self.loadEvents(Self.eventsURL)
        XCTAssertEqual(log.shopperCount, 22_363)
        XCTAssertEqual(log.productCount, 12_101)
        XCTAssertEqual(log.interactions.count, 198_502)
        let loaded = Date()

        let split = LeaveOneOutSplit().split(log)
        let set = EvaluationSet(split: split, part: .test)
        XCTAssertEqual(set.shopperCount, 22_363) // 5-core: every shopper has a test target
        XCTAssertEqual(set.repeatTargetCount, 0) // no repeat purchases in this dataset
        let evaluator = Evaluator()

        var popular = PopularRecommender()
        try popular.fit(split.trainingHistories)
        let popularReport = evaluator.evaluate(popular, on: set).report
        let popularDone = Date()

        var knn = ItemKNNRecommender()
        try knn.fit(split.trainingHistories)
        let knnFitted = Date()
        let knnReport = evaluator.evaluate(knn, on: set).report
        let knnDone = Date()

        func line(_ r: EvaluationReport) -> String {
            ["ndcg@10", "recall@10", "ndcg@20", "recall@20", "mrr@10", "coverage@10"]
                .map { "\($0)=\(String(format: "%.4f", r[$0]!))" }.joined(separator: " ")
        }
        print("amazon-beauty load \(String(format: "%.2f", loaded.timeIntervalSince(started)))s")
        print("amazon-beauty popular \(line(popularReport)) fit+evaluate \(String(format: "%.2f", popularDone.timeIntervalSince(loaded)))s")
        print("amazon-beauty itemknn \(line(knnReport)) fit+evaluate \(String(format: "%.2f", knnDone.timeIntervalSince(popularDone)))s (fit \(String(format: "%.2f", knnFitted.timeIntervalSince(popularDone)))s)")

        // RecBole measured Popular at NDCG@10 0.0038, Recall@10 0.0088 on this split.
        let popularNDCG = popularReport["ndcg@10"]!
        XCTAssert((0.002...0.01).contains(popularNDCG), "popular ndcg@10 \(popularNDCG)")
        XCTAssert((0.004...0.02).contains(popularReport["recall@10"]!), "popular recall@10")
        // Item-to-item co-purchase should beat popularity clearly on a 5-core dataset.
        XCTAssertGreaterThan(knnReport["ndcg@10"]!, 3 * popularNDCG)
        XCTAssertGreaterThan(knnReport["recall@10"]!, 2 * popularReport["recall@10"]!)
    }

    /// Reads user_id,product_id,event,timestamp (no quotes in this file's ids), numbering
    /// shoppers and products in order of first appearance; the event id is the line number.
    static func loadEvents(_ url: URL) throws -> InteractionLog {
        let data = try Data(contentsOf: url)
        var shopperIndex: [Substring: Int32] = [:]
        var productIndex: [Substring: Int32] = [:]
        var shopperKeys: [String] = []
        var productKeys: [String] = []
        var interactions: [InteractionLog.Interaction] = []
        let text = String(decoding: data, as: UTF8.self)
        var lineNumber: Int64 = 0
        // Lines end in CRLF, which Swift treats as one Character, so split on scalars.
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: true) {
            lineNumber += 1
            if lineNumber == 1 { continue }
            let trimmed = line.last == "\r" ? line.dropLast() : line[...]
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { Substring($0) }
            guard fields.count >= 4, let type = EventType(rawValue: String(fields[2])),
                  let time = parseTimestamp(fields[3]) else {
                throw CuratorError.invalidRecord(InputLocation(file: url.path, line: Int(lineNumber)), reason: "unreadable")
            }
            let shopper: Int32
            if let s = shopperIndex[fields[0]] { shopper = s } else {
                shopper = Int32(shopperKeys.count)
                shopperIndex[fields[0]] = shopper
                shopperKeys.append(String(fields[0]))
            }
            let product: Int32
            if let p = productIndex[fields[1]] { product = p } else {
                product = Int32(productKeys.count)
                productIndex[fields[1]] = product
                productKeys.append(String(fields[1]))
            }
            interactions.append(.init(shopper: shopper, product: product, type: type,
                                      timestampMillis: time, eventID: lineNumber))
        }
        return InteractionLog(shopperKeys: shopperKeys, productKeys: productKeys, interactions: interactions)
    }

    /// "2014-01-01T00:00:00Z" → millis since 1970 (days-from-civil, proleptic Gregorian).
    static func parseTimestamp(_ s: Substring) -> Int64? {
        let u = Array(s.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64 {
            u[from..<(from + count)].reduce(0) { $0 * 10 + Int64($1 &- 48) }
        }
        var y = number(0, 4)
        let m = number(5, 2), d = number(8, 2)
        y -= m <= 2 ? 1 : 0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + number(11, 2) * 3600 + number(14, 2) * 60 + number(17, 2)
        return seconds * 1000
    }
}
