import Foundation
import LanguageModelFit
import Storage
import TestSupport
import TextModels
import XCTest

/// multilingual-e5-small reads the Chinese sample shop: similar products stay in their department
/// and kind, and kind names as searches find the kind. Moved here with `SemanticFit` from the
/// main package's CLI tests; the model file comes from `curator models fetch` (scripts/test runs it),
/// and without it this test fails in CI (a skip locally), because a Chinese shop read by all-MiniLM is what it guards against.
final class ChineseShopFitTests: XCTestCase {
    static let e5 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/multilingual-e5-small").path

    func testSimilarProductsStayInTheirDepartmentAndKind() throws {
        guard FileManager.default.fileExists(atPath: Self.e5 + "/e5-small-q4.bin") else {
            throw Prerequisite.missing("multilingual-e5-small is missing at \(Self.e5): run curator models fetch multilingual-e5-small")
        }
        let encoder = try TextEncoders.load(Self.e5)
        let report = try SemanticFit(encoder: encoder, k: 10).measure(SampleShop(products: 300, shoppers: 1, language: .zh, seed: 42))
        // Measured with `curator-bench similar --lang zh --products 300` (seed 42, top 10):
        //                          multilingual-e5-small   all-MiniLM-L6-v2   chance
        //   same department                0.998               0.957          0.164
        //   same kind                      0.706               0.388
        //   kind name as search            0.907               0.233
        // (At 300 products some kinds have fewer than 10 products, so 0.907 is the ceiling for
        // searches.) Department alone barely parts the models, because every text names its
        // department in the category path and brands belong to one department; kinds do.
        XCTAssertGreaterThanOrEqual(report.similarSameDepartment, 0.98)
        XCTAssertGreaterThanOrEqual(report.similarSameKind, 0.6)
        XCTAssertGreaterThanOrEqual(report.searchSameKind, 0.85)
    }
}
