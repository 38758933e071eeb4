import CuratorCore
import Foundation
import Recommenders
import XCTest

/// The learned models on tiny synthetic logs: they learn an obvious pattern, are
/// deterministic given a seed, and round-trip through their saved payload exactly.
final class TrainingTests: XCTestCase {
    /// Shoppers walk the catalogue in order: product i is always followed by product i + 1.
    func successorLog(products: Int = 30, shoppers: Int = 240, seed: UInt64 = 5) -> InteractionLog {
        var rng = SeededGenerator(seed: seed)
        var histories: [[Int]] = []
        for _ in 0..<shoppers {
            let start = Int(rng.next() % UInt64(products))
            let length = 5 + Int(rng.next() % 5)
            histories.append((0..<length).map { (start + $0) % products })
        }
        return makeLog(products: products, histories: histories)
    }

    /// Random unit vectors standing in for language-model vectors.
    func vectors(products: Int, dimension: Int) -> [Float] {
        var rng = SeededGenerator(seed: 11)
        var v = (0..<(products * dimension)).map { _ in Float(rng.next() >> 40) / Float(1 << 24) - 0.5 }
        for p in 0..<products {
            let norm = (0..<dimension).reduce(Float(0)) { $0 + v[p * dimension + $1] * v[p * dimension + $1] }.squareRoot()
            for c in 0..<dimension { v[p * dimension + c] /= norm }
        }
        return v
    }

    func smallConfiguration(_ kind: NeuralModelKind, loss: TrainingLoss = .softmax) -> NeuralConfiguration {
        var c = NeuralConfiguration(kind: kind)
        c.loss = loss
        c.dimension = 16
        c.feedForward = 32
        c.heads = 2
        c.blocks = 1
        c.maxLength = 10
        c.dropout = 0.1
        c.batchSize = 32
        c.epochs = 12
        c.learningRate = 0.01
        c.negatives = 8
        c.patience = 3
        c.seed = 3
        return c
    }

    func testSequentialLearnsTheSuccessorPatternAndBeatsPopular() throws {
        let split = LeaveOneOutSplit().split(successorLog())
        let test = EvaluationSet(split: split, part: .test)
        var popular = PopularRecommender()
        try popular.fit(split.histories(evaluating: .test))
        let popularNDCG = Evaluator().evaluate(popular, on: test).report["ndcg@10"] ?? 0

        for loss in [TrainingLoss.softmax, .bce] {
            var model = try NeuralRecommender(configuration: smallConfiguration(.sequential, loss: loss), productCount: 30,
                                              productVectors: vectors(products: 30, dimension: 8), lmDimension: 8)
            var reports: [EpochReport] = []
            let summary = try model.train(split.trainingHistories, validation: EvaluationSet(split: split, part: .validation)) { reports.append($0) }
            XCTAssertEqual(reports.count, summary.epochs.count)
            XCTAssertNotNil(summary.bestValidationNDCG)
            let ndcg = Evaluator().evaluate(model, on: test).report["ndcg@10"] ?? 0
            XCTAssertGreaterThan(ndcg, 0.8, "\(loss): the next product is always the successor")
            XCTAssertGreaterThan(ndcg, popularNDCG + 0.5)
        }
    }

    func testTwoTowerLearnsTheSuccessorPattern() throws {
        let split = LeaveOneOutSplit().split(successorLog())
        for loss in [TrainingLoss.sampledSoftmax, .bpr] {
            var config = smallConfiguration(.twoTower, loss: loss)
            config.recencyDecay = 0.2
            config.epochs = 15
            var model = try NeuralRecommender(configuration: config, productCount: 30,
                                              productVectors: vectors(products: 30, dimension: 8), lmDimension: 8)
            _ = try model.train(split.trainingHistories, validation: EvaluationSet(split: split, part: .validation), progress: nil)
            let ndcg = Evaluator().evaluate(model, on: EvaluationSet(split: split, part: .test)).report["ndcg@10"] ?? 0
            XCTAssertGreaterThan(ndcg, 0.5, "\(loss)")
        }
    }

    func testTrainingIsDeterministicGivenASeed() throws {
        let histories = LeaveOneOutSplit().split(successorLog()).trainingHistories
        var config = smallConfiguration(.sequential)
        config.epochs = 2
        func train(seed: UInt64) throws -> [Float] {
            config.seed = seed
            var model = try NeuralRecommender(configuration: config, productCount: 30,
                                              productVectors: vectors(products: 30, dimension: 8), lmDimension: 8)
            try model.fit(histories)
            return model.productTable
        }
        let first = try train(seed: 3)
        XCTAssertEqual(first, try train(seed: 3))
        XCTAssertNotEqual(first, try train(seed: 4))
    }

    func testPayloadRoundTripsScoresExactly() throws {
        let split = LeaveOneOutSplit().split(successorLog())
        let keys = split.log.productKeys
        let lm = vectors(products: 30, dimension: 8)
        for kind in NeuralModelKind.allCases {
            var config = smallConfiguration(kind)
            config.epochs = 2
            var model = try NeuralRecommender(configuration: config, productCount: 30, productVectors: lm, lmDimension: 8)
            try model.fit(split.trainingHistories)
            let payload = try model.serialized(productKeys: keys)
            XCTAssertEqual(try NeuralRecommender.configuration(inPayload: payload), config)
            let loaded = try NeuralRecommender(payload: payload, productKeys: keys, productVectors: lm, lmDimension: 8)
            XCTAssertEqual(loaded.productTable, model.productTable)
            let histories = (0..<20).map { split.trainingHistories[$0] }
            var a = [Float](repeating: 0, count: 20 * 30), b = a
            a.withUnsafeMutableBufferPointer { model.scores(for: histories, productCount: 30, into: $0) }
            b.withUnsafeMutableBufferPointer { loaded.scores(for: histories, productCount: 30, into: $0) }
            XCTAssertEqual(a, b, "\(kind)")

            // A catalogue with one product the model never saw: its id part is zero, its
            // representation comes from its language-model vector alone.
            let grown = try NeuralRecommender(payload: payload, productKeys: keys + ["new"],
                                              productVectors: lm + lm.suffix(8), lmDimension: 8)
            XCTAssertEqual(Array(grown.productTable.prefix(30 * 16)), model.productTable)
        }
        XCTAssertThrowsError(try NeuralRecommender(payload: Data("nope".utf8), productKeys: keys, productVectors: lm, lmDimension: 8))
    }

    func testBatchAndSingleScoresAgree() throws {
        let split = LeaveOneOutSplit().split(successorLog())
        var config = smallConfiguration(.sequential)
        config.epochs = 1
        var model = try NeuralRecommender(configuration: config, productCount: 30, productVectors: [], lmDimension: 0)
        try model.fit(split.trainingHistories)
        let histories = (0..<5).map { split.trainingHistories[$0] }
        var batch = [Float](repeating: 0, count: 5 * 30)
        batch.withUnsafeMutableBufferPointer { model.scores(for: histories, productCount: 30, into: $0) }
        for (i, h) in histories.enumerated() {
            var single = [Float](repeating: 0, count: 30)
            single.withUnsafeMutableBufferPointer { model.scores(for: h, into: $0) }
            for j in 0..<30 { XCTAssertEqual(single[j], batch[i * 30 + j], accuracy: 1e-4) }
        }
    }
}
