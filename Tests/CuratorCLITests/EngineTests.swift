import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import Storage
import StoreTestSupport
import XCTest

/// The engine and the evaluation in process, on small stores, each test on both stores
/// (`eachStore`): no language model needed (the product vectors are made up).
final class EngineTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("curator-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A unit vector per live product, in `allProducts()` order, the same for the same id.
    private func vectors(_ store: any CuratorStoring, dimension: Int = 8) async throws -> (vectors: [Float], dimension: Int) {
        var out: [Float] = []
        for (_, product) in try await store.allProducts() {
            var rng = SeededGenerator(seed: UInt64(truncatingIfNeeded: product.id.unicodeScalars.reduce(7) { $0 &* 31 &+ Int($1.value) }))
            let raw = (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }
            let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
            out += raw.map { $0 / norm }
        }
        return (out, dimension)
    }

    private func popularity(of productID: String, in engine: RecommendationEngine) -> Float? {
        engine.popularity(of: productID)
    }

    // MARK: - History limit

    func testARecommendationReadsOnlyTheNewest200Events() async throws {
        try await eachStore(secret: .store) { test in try await recommendationReadsOnlyTheNewest200Events(test.store) }
    }

    private func recommendationReadsOnlyTheNewest200Events(_ store: any CuratorStoring) async throws {
        _ = try await store.upsertProducts((0..<12).map { Product(id: "P\($0)", title: "Product \($0)") })
        // 1,000 views: the oldest 800 of P0–P3, the newest 200 of P4–P7; P8–P11 never seen.
        let events = (0..<1_000).map { i in
            Event(shopperID: "heavy", productID: "P\(i < 800 ? i % 4 : 4 + i % 4)", type: .view, timestampMillis: 1_000_000 + Int64(i) * 1_000)
        }
        let appended = try await store.appendEvents(events)
        XCTAssertEqual(appended.inserted, 1_000)
        let (v, d) = try await vectors(store)
        let engine = try await RecommendationEngine.load(store: store, vectors: v, dimension: d)
        XCTAssertEqual(engine.historyLimit, 200)

        let history = try await engine.history(ofShopper: "heavy")
        XCTAssertEqual(history.count, 200)
        XCTAssertEqual(history.map(\.timestampMillis), (800..<1_000).map { 1_000_000 + Int64($0) * 1_000 }, "the newest 200, oldest first")

        // Viewed products are left out, but only the ones in what was read: P4–P7.
        let list = try await engine.recommend(shopper: "heavy", request: RecommendationRequest(k: 12, exclude: [.view]))
        XCTAssertEqual(Set(list.items.map(\.productID)), Set(["P0", "P1", "P2", "P3", "P8", "P9", "P10", "P11"]))
        let cited = Set(list.items.flatMap { $0.evidence.historyItems.map(\.productID) })
        XCTAssertTrue(cited.isSubset(of: ["P4", "P5", "P6", "P7"]), "evidence cites only events that were read: \(cited)")

        let bounded = try await RecommendationEngine.load(store: store, vectors: v, dimension: d, historyLimit: 10)
        let boundedHistory = try await bounded.history(ofShopper: "heavy")
        XCTAssertEqual(boundedHistory.count, 10)
    }

    // MARK: - Popularity and duplicates

    func testAReSentEventDoesNotRaisePopularity() async throws {
        try await eachStore(secret: .store) { test in try await reSentEventDoesNotRaisePopularity(test.store) }
    }

    private func reSentEventDoesNotRaisePopularity(_ store: any CuratorStoring) async throws {
        _ = try await store.upsertProducts([Product(id: "P1", title: "One"), Product(id: "P2", title: "Two")])
        let (v, d) = try await vectors(store)
        let engine = try await RecommendationEngine.load(store: store, vectors: v, dimension: d)
        let purchase = Event(shopperID: "s1", productID: "P1", type: .purchase, timestampMillis: 5_000)

        let first = try await engine.record([purchase])
        XCTAssertEqual(first.inserted, 1)
        XCTAssertEqual(popularity(of: "P1", in: engine), EventType.purchase.weight)

        let resent = try await engine.record([purchase])
        XCTAssertEqual(resent.duplicates, 1)
        XCTAssertEqual(popularity(of: "P1", in: engine), EventType.purchase.weight, "a duplicate the store ignored must not count")

        // Within one batch too, and a new event beside it still counts.
        let view = Event(shopperID: "s2", productID: "P1", type: .view, timestampMillis: 6_000)
        let mixed = try await engine.record([view, view, purchase])
        XCTAssertEqual(mixed.isNew, [true, false, false])
        XCTAssertEqual(popularity(of: "P1", in: engine), EventType.purchase.weight + EventType.view.weight)

        // A fresh engine reads the same popularity back from the store: one definition.
        let restarted = try await RecommendationEngine.load(store: store, vectors: v, dimension: d)
        XCTAssertEqual(popularity(of: "P1", in: restarted), popularity(of: "P1", in: engine))
        XCTAssertEqual(popularity(of: "P2", in: restarted), 0)
    }

    // MARK: - Evaluating trained models

    /// A sample shop with a leave-one-out split "loo", a time split "time" and a small
    /// sequential model trained on "loo".
    private func shopWithTrainedModel(_ store: any CuratorStoring) async throws -> (any CuratorStoring, (vectors: [Float], dimension: Int)) {
        let output = try SampleShop(products: 80, shoppers: 60, seed: 3).write(to: folder.appendingPathComponent("shop").path)
        _ = try await store.importProducts(from: output.productsPath)
        _ = try await store.importEvents(from: output.eventsPath)
        let log = try await store.interactionLog()
        try await save(LeaveOneOutSplit().split(log), as: "loo", in: store)
        let times = log.interactions.map(\.timestampMillis).sorted()
        try await save(TimeSplit(before: times[times.count * 4 / 5], validation: .none).split(log), as: "time", in: store)

        let lm = try await vectors(store)
        let data = try await TrainingData.load(from: store, split: "loo") { lm }
        var configuration = NeuralConfiguration(kind: .sequential)
        configuration.dimension = 16
        configuration.heads = 1
        configuration.feedForward = 32
        configuration.epochs = 2
        configuration.batchSize = 32
        var model = try data.makeModel(configuration)
        let summary = try model.train(data.training, validation: data.validation, progress: nil)
        let version = try await data.save(model, summary: summary, in: store)
        XCTAssertEqual(version, 1)
        return (store, lm)
    }

    private func save(_ split: DataSplit, as name: String, in store: any CuratorStoring, parameters: String = "{}") async throws {
        try await store.saveSplit(StoredSplit(name: name, kind: name, parameters: parameters, dataFingerprint: try await store.dataFingerprint(),
                                        createdAtMillis: 0, assignments: split.assignments().map { ($0.eventID, $0.part.rawValue) }))
    }

    func testATrainedModelIsEvaluatedOnlyOnItsOwnSplitAndItsEarlyStoppingFiguresAreLabelledAndKeptFromTheStorefront() async throws {
        try await eachStore(secret: .store) { test in try await trainedModelIsEvaluatedOnlyOnItsOwnSplit(test.store) }
    }

    private func trainedModelIsEvaluatedOnlyOnItsOwnSplit(_ store: any CuratorStoring) async throws {
        let (store, lm) = try await shopWithTrainedModel(store)

        // Validation is the trained model's early-stopping set: labelled, and not saved for the storefront.
        let validation = try await EvaluationRun.run(store: store, split: "loo", part: .validation, models: nil) { lm }
        XCTAssertEqual(validation.results.map(\.name), ["popular", "itemknn", "semantic", "sequential"])
        let sequential = try XCTUnwrap(validation.results.last)
        XCTAssertTrue(sequential.report.onEarlyStoppingSet)
        XCTAssertEqual(sequential.label, "sequential v1 (validation = early-stopping set)")
        XCTAssertTrue(validation.textTable().contains("sequential v1 (validation = early-stopping set)"))
        XCTAssertFalse(validation.results.dropLast().contains { $0.report.onEarlyStoppingSet }, "baselines do not stop early")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try validation.json().utf8)) as? [String: Any])
        XCTAssertEqual(json["early_stopping_set"] as? [String], ["sequential"])

        let savedForStorefront = try await validation.saveForStorefront(in: store)
        XCTAssertTrue(savedForStorefront)
        let latest = try await store.latestEvaluation()
        let saved = try XCTUnwrap(latest).json
        let shown = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any])
        XCTAssertEqual(shown["order"] as? [String], ["popular", "itemknn", "semantic"])
        XCTAssertNil((shown["models"] as? [String: Any])?["sequential"], "the storefront's report never holds an early-stopping-set figure")

        // Only the trained model on its early-stopping set: nothing for the storefront at all.
        let alone = try await EvaluationRun.run(store: store, split: "loo", part: .validation, models: ["sequential"]) { lm }
        XCTAssertNil(try alone.storefrontJSON())
        let aloneSaved = try await alone.saveForStorefront(in: store)
        XCTAssertFalse(aloneSaved)

        // On the test part it is an ordinary figure, shown like the others.
        let test = try await EvaluationRun.run(store: store, split: "loo", part: .test, models: ["sequential"]) { lm }
        XCTAssertFalse(try XCTUnwrap(test.results.first).report.onEarlyStoppingSet)
        XCTAssertEqual(test.results.first?.label, "sequential v1")
        XCTAssertNotNil(try test.storefrontJSON())
    }

    func testATrainedModelOnAnotherSplitIsAClearError() async throws {
        try await eachStore(secret: .store) { test in try await trainedModelOnAnotherSplitIsAClearError(test.store) }
    }

    private func trainedModelOnAnotherSplitIsAClearError(_ store: any CuratorStoring) async throws {
        let (store, lm) = try await shopWithTrainedModel(store)

        do {
            _ = try await EvaluationRun.run(store: store, split: "time", part: .test, models: ["sequential"]) { lm }
            XCTFail("evaluating a model trained on another split must fail")
        } catch {
            XCTAssertEqual(error as? EvaluationError, .trainedOnAnotherSplit(model: "sequential", split: "time", trainedOn: ["loo"]))
            XCTAssertTrue("\(error)".contains("curator train --model sequential --split time"), "\(error)")
        }
        // Evaluating every model on that split leaves it out and says why.
        let all = try await EvaluationRun.run(store: store, split: "time", part: .test) { lm }
        XCTAssertEqual(all.results.map(\.name), ["popular", "itemknn", "semantic"])
        XCTAssertTrue(all.notes.contains { $0.hasPrefix("sequential skipped:") && $0.contains("not on 'time'") }, "\(all.notes)")

        // The same name made again with other events held out is another split.
        let log = try await store.interactionLog()
        try await save(TimeSplit(before: log.interactions.map(\.timestampMillis).max() ?? 0, validation: .none).split(log), as: "loo", in: store)
        do {
            _ = try await EvaluationRun.run(store: store, split: "loo", part: .test, models: ["sequential"]) { lm }
            XCTFail("evaluating a model on a split made again under its name must fail")
        } catch {
            XCTAssertEqual(error as? EvaluationError, .splitMadeAgain(model: "sequential", split: "loo"))
        }
    }
}
