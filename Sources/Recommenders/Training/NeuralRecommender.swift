import CuratorCore
import Foundation
import Linear

/// A learned recommender (`sequential` or `two-tower`, see `NeuralNetwork`) trained with
/// AdamW on next-product prediction over the training histories.
///
/// Training examples: for every shopper, each of the newest `maxLength` training events
/// (after the first) is predicted from the events before it. Scores for a history are the
/// dot products of its newest hidden state with every product representation: one `sgemm`
/// per batch of shoppers.
///
/// The struct holds its weights in a class, so copies share them; `train` replaces them.
public struct NeuralRecommender: Recommender {
    public private(set) var configuration: NeuralConfiguration
    public let productCount: Int
    let network: NeuralNetwork
    /// The product representations R [productCount × dimension] the scores use, computed
    /// after training (or loading) from the weights; a copy, so training does not touch it.
    private(set) var table: Tensor

    /// R [productCount × dimension], row-major.
    public var productTable: [Float] { table.values }

    /// `.validation` once `train` has stopped early on a validation set. Not part of the saved
    /// weights: whoever loads a saved model sets it from the training record it was saved with.
    public var earlyStoppingPart: SplitPart?

    /// - Parameters:
    ///   - productVectors: language-model vectors, row-major [productCount × lmDimension]
    ///     (empty, or `useLanguageModel` false, to learn id embeddings only).
    public init(configuration: NeuralConfiguration, productCount: Int, productVectors: [Float], lmDimension: Int) throws {
        try configuration.validate()
        if configuration.useLanguageModel && !productVectors.isEmpty && productVectors.count != productCount * lmDimension {
            throw CuratorError.model("there are \(productVectors.count / max(lmDimension, 1)) product vectors for \(productCount) products; embed the catalogue again")
        }
        self.configuration = configuration
        self.productCount = productCount
        network = NeuralNetwork(config: configuration, productCount: productCount, lmVectors: productVectors, lmDimension: lmDimension)
        table = Self.computeTable(network)
    }

    init(configuration: NeuralConfiguration, network: NeuralNetwork) {
        self.configuration = configuration
        self.productCount = network.productCount
        self.network = network
        table = Self.computeTable(network)
    }

    public var name: String { configuration.kind.rawValue }

    /// Trains for `configuration.epochs` epochs without validation.
    public mutating func fit(_ training: ShopperHistories) throws {
        _ = try train(training, validation: nil, progress: nil)
    }

    static func computeTable(_ network: NeuralNetwork) -> Tensor {
        let tape = Tape(recording: false, training: false)
        let r = network.productTable(tape)
        return Tensor(rows: r.rows, cols: r.cols, values: r.values)
    }

    mutating func refreshProductTable() { table = Self.computeTable(network) }

    /// Trains on `training`; after each epoch measures NDCG@10 on `validation` (if given),
    /// keeps the best weights and stops after `patience` epochs without improvement.
    public mutating func train(_ training: ShopperHistories, validation: EvaluationSet?,
                               progress: ((EpochReport) -> Void)?) throws -> TrainingSummary {
        guard training.productCount == productCount else {
            throw CuratorError.model("the model has \(productCount) products but the log has \(training.productCount)")
        }
        let config = configuration
        let start = Date()
        var rng = SeededGenerator(seed: config.seed &+ 0x5EED)
        let optimizer = AdamW(parameters: network.optimizerParameters(), learningRate: config.learningRate)
        let parameterTensors = network.parameters.map(\.tensor)

        // Each shopper's training window: the newest maxLength + 1 events.
        var windows: [Range<Int>] = []
        for s in 0..<training.shopperCount {
            let r = training.range(of: s)
            guard r.count >= 2 else { continue }
            windows.append(max(r.lowerBound, r.upperBound - config.maxLength - 1)..<r.upperBound)
        }
        guard !windows.isEmpty else { throw CuratorError.model("no shopper has two training events to learn from") }

        // log Q for the sampled softmax: how often each product is a target.
        var logQ: [Float] = []
        if config.loss == .sampledSoftmax {
            var counts = [Float](repeating: 1, count: productCount)
            for w in windows { for i in (w.lowerBound + 1)..<w.upperBound { counts[Int(training.products[i])] += 1 } }
            let total = counts.reduce(0, +)
            logQ = counts.map { logf($0 / total) }
        }

        var reports: [EpochReport] = []
        var best: (epoch: Int, ndcg: Double, weights: [[Float]])? = nil
        var sinceBest = 0
        var batch = PackedSequences()
        var order = Array(0..<windows.count)
        for epoch in 1...max(config.epochs, 1) where config.epochs > 0 {
            let epochStart = Date()
            order.shuffle(using: &rng)
            var lossSum: Double = 0
            var batches = 0
            for first in stride(from: 0, to: order.count, by: config.batchSize) {
                batch.removeAll()
                training.products.withUnsafeBufferPointer { products in
                    for k in first..<min(first + config.batchSize, order.count) {
                        let w = windows[order[k]]
                        batch.append(UnsafeBufferPointer(rebasing: products[w.lowerBound..<(w.upperBound - 1)]),
                                     targets: UnsafeBufferPointer(rebasing: products[(w.lowerBound + 1)..<w.upperBound]))
                    }
                }
                let tape = Tape(recording: true, training: true)
                let table = network.productTable(tape)
                let hidden = network.encode(tape, table: table, batch: batch, rng: &rng)
                let loss = lossTensor(tape, hidden: hidden, table: table, targets: batch.targets, logQ: logQ, rng: &rng)
                tape.backward(loss)
                clipGradientNorm(parameterTensors, maxNorm: config.clipNorm)
                optimizer.step()
                optimizer.zeroGrad()
                lossSum += Double(loss.scalar)
                batches += 1
            }
            refreshProductTable()
            var ndcg: Double? = nil
            if let validation {
                ndcg = Evaluator().evaluate(self, on: validation).report["ndcg@10"] ?? 0
            }
            let report = EpochReport(epoch: epoch, loss: lossSum / Double(max(batches, 1)), validationNDCG: ndcg,
                                     seconds: Date().timeIntervalSince(epochStart))
            reports.append(report)
            progress?(report)
            if let ndcg {
                if best == nil || ndcg > best!.ndcg {
                    best = (epoch, ndcg, network.snapshot())
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if sinceBest >= config.patience { break }
                }
            }
        }
        if let best {
            network.restore(best.weights)
            refreshProductTable()
        }
        earlyStoppingPart = validation.map(\.part)
        return TrainingSummary(epochs: reports, bestEpoch: best?.epoch ?? reports.count, bestValidationNDCG: best?.ndcg,
                               seconds: Date().timeIntervalSince(start))
    }

    private func lossTensor(_ tape: Tape, hidden: Tensor, table: Tensor, targets: [Int32], logQ: [Float],
                            rng: inout SeededGenerator) -> Tensor {
        let config = configuration
        switch config.loss {
        case .softmax:
            return tape.softmaxCrossEntropy(tape.matmul(hidden, table, transposeB: true), targets: targets)
        case .sampledSoftmax:
            // Candidates: the batch's distinct targets; each position's own target is among them.
            var column = [Int32: Int32]()
            var candidates: [Int32] = []
            var mapped: [Int32] = []
            mapped.reserveCapacity(targets.count)
            for t in targets {
                if let c = column[t] { mapped.append(c); continue }
                let c = Int32(candidates.count)
                column[t] = c
                candidates.append(t)
                mapped.append(c)
            }
            let offsets = candidates.map { -logQ[Int($0)] }
            let logits = tape.matmul(hidden, tape.gather(table, candidates), transposeB: true)
            return tape.softmaxCrossEntropy(logits, targets: mapped, columnOffsets: offsets)
        case .bce, .bpr:
            let m = 1 + config.negatives
            var candidates = [Int32](repeating: 0, count: targets.count * m)
            let n = UInt64(productCount)
            for (r, t) in targets.enumerated() {
                candidates[r * m] = t
                for c in 1..<m {
                    var negative = Int32(truncatingIfNeeded: rng.next() % n)
                    if negative == t { negative = Int32((UInt64(negative) + 1) % n) }
                    candidates[r * m + c] = negative
                }
            }
            let scores = tape.candidateScores(hidden, table, candidates: candidates, perRow: m)
            if config.loss == .bpr { return tape.bprLoss(scores) }
            var labels = [Float](repeating: 0, count: candidates.count)
            for r in 0..<targets.count { labels[r * m] = 1 }
            return tape.sigmoidBinaryCrossEntropy(scores, labels: labels)
        }
    }

    // MARK: Scoring

    public func scores(for history: ShopperHistory, into scores: UnsafeMutableBufferPointer<Float>) {
        self.scores(for: [history], productCount: productCount, into: scores)
    }

    /// Shopper states for a batch of histories, then one `sgemm` against the product table.
    public func scores(for histories: [ShopperHistory], productCount: Int, into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(productCount == self.productCount && scores.count >= histories.count * productCount)
        guard !histories.isEmpty else { return }
        let d = configuration.dimension
        let states = shopperStates(histories)
        states.withUnsafeBufferPointer { u in
            BLAS.sgemm(transposeB: true, m: histories.count, n: productCount, k: d,
                       a: u.baseAddress!, lda: d, b: table.value, ldb: d,
                       c: scores.baseAddress!, ldc: productCount)
        }
    }

    // MARK: Serving

    /// Representations of products that arrived or changed after the model was built: the
    /// projection of their language-model vectors [count × lmDimension], plus the model's id
    /// embedding where `modelIndices` names a product it knows. Row-major [count × dimension].
    public func representations(languageModelVectors: [Float], modelIndices: [Int?]) -> [Float] {
        let d = configuration.dimension, count = modelIndices.count
        var out = [Float](repeating: 0, count: count * d)
        if network.lmDimension > 0, languageModelVectors.count == count * network.lmDimension {
            let tape = Tape(recording: false, training: false)
            if let part = network.languageModelPart(tape, Tensor(rows: count, cols: network.lmDimension, values: languageModelVectors)) {
                for i in 0..<(count * d) { out[i] = part.value[i] }
            }
        }
        for (i, index) in modelIndices.enumerated() {
            guard let index, index >= 0, index < productCount else { continue }
            for c in 0..<d { out[i * d + c] += network.itemID.value[index * d + c] }
        }
        return out
    }

    /// The shopper state for a history given as product representations (oldest first,
    /// row-major [count × dimension]), so products added after the model was built count too.
    /// Only the newest `maxLength` are used.
    public func shopperState(representations: [Float], count: Int) -> [Float] {
        let d = configuration.dimension
        guard count > 0, representations.count >= count * d else { return [Float](repeating: 0, count: d) }
        let used = min(count, configuration.maxLength)
        let rows = Tensor(rows: used, cols: d, values: Array(representations[((count - used) * d)..<(count * d)]))
        var batch = PackedSequences()
        let items = (0..<Int32(used)).map { $0 }
        items.withUnsafeBufferPointer { batch.append($0, targets: nil) }
        let tape = Tape(recording: false, training: false)
        var rng = SeededGenerator(seed: 0)
        let hidden = network.encode(tape, table: rows, batch: batch, rng: &rng)
        return Array(UnsafeBufferPointer(start: hidden.value + (used - 1) * d, count: d))
    }

    /// The newest hidden state of each history, row-major [histories × dimension]; zeros for an empty history.
    public func shopperStates(_ histories: [ShopperHistory]) -> [Float] {
        let d = configuration.dimension
        var batch = PackedSequences()
        var nonEmpty: [Int] = []
        for (row, history) in histories.enumerated() where !history.isEmpty {
            history.products.suffix(configuration.maxLength).withUnsafeBufferPointer { batch.append($0, targets: nil) }
            nonEmpty.append(row)
        }
        var states = [Float](repeating: 0, count: histories.count * d)
        guard !nonEmpty.isEmpty else { return states }
        let tape = Tape(recording: false, training: false)
        var rng = SeededGenerator(seed: 0)
        let hidden = network.encode(tape, table: table, batch: batch, rng: &rng)
        for (s, row) in nonEmpty.enumerated() {
            let last = batch.offsets[s + 1] - 1
            for c in 0..<d { states[row * d + c] = hidden.value[last * d + c] }
        }
        return states
    }
}
