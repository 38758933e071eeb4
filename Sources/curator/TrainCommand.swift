import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import Storage
import TextModels

extension NeuralModelKind: ExpressibleByArgument {}
extension TrainingLoss: ExpressibleByArgument {}
extension HistoryPooling: ExpressibleByArgument {}

/// Hyper-parameter options shared by `curator train` and `curator tune`.
struct NeuralOptions: ParsableArguments {
    @Option(help: "The model: sequential or two-tower.") var model: NeuralModelKind
    @Option(help: "Loss: softmax (full), sampled-softmax (in-batch, log-Q), bce or bpr.") var loss: TrainingLoss?
    @Option(help: "Maximum epochs (training stops early when validation NDCG@10 stops improving).") var epochs: Int?
    @Option(help: "Representation width.") var dim: Int?
    @Option(help: "AdamW learning rate.") var lr: Float?
    @Option(help: "Random seed (training is deterministic given the seed).") var seed: UInt64?
    @Option(help: "Dropout rate.") var dropout: Float?
    @Option(help: "Newest history events the model reads.") var maxLength: Int?
    @Option(help: "Attention blocks (sequential).") var blocks: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Feed-forward width.") var feedForward: Int?
    @Option(help: "Shoppers per batch.") var batch: Int?
    @Option(help: "Sampled negatives per position (bce, bpr).") var negatives: Int?
    @Option(help: "Validations without improvement before stopping.") var patience: Int?
    @Option(help: "History pooling for two-tower: mean, recency or attention.") var pooling: HistoryPooling?
    @Option(help: "Per-position recency factor for --pooling recency.") var recencyDecay: Float?
    @Option(help: "Weight decay of the id embeddings (pulls products toward their language-model vector).") var idDecay: Float?
    @Option(help: "Weight decay of the dense weights.") var weightDecay: Float?
    @Flag(help: "Learn id embeddings only, without the language-model vectors.") var noLanguageModel = false

    var configuration: NeuralConfiguration {
        var c = NeuralConfiguration(kind: model)
        if let loss { c.loss = loss }
        if let epochs { c.epochs = epochs }
        if let dim { c.dimension = dim }
        if let lr { c.learningRate = lr }
        if let seed { c.seed = seed }
        if let dropout { c.dropout = dropout }
        if let maxLength { c.maxLength = maxLength }
        if let blocks { c.blocks = blocks }
        if let heads { c.heads = heads }
        if let feedForward { c.feedForward = feedForward }
        if let batch { c.batchSize = batch }
        if let negatives { c.negatives = negatives }
        if let patience { c.patience = patience }
        if let pooling { c.pooling = pooling }
        if let recencyDecay { c.recencyDecay = recencyDecay }
        if let idDecay { c.idWeightDecay = idDecay }
        if let weightDecay { c.weightDecay = weightDecay }
        if noLanguageModel { c.useLanguageModel = false }
        return c
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a learned model (sequential or two-tower) on a saved split and save it as a new version.",
        discussion: "Trains on the split's train part, stops early on validation NDCG@10 and keeps the best epoch. Needs curator split and curator embed first.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: NeuralOptions
    @Option(help: "The saved split to train on.") var split = "loo"
    @Option(name: .customLong("model-dir"), help: "Language model (default: the one the store was embedded with).")
    var modelDirectory: String?
    @Flag(help: "Also evaluate the trained model on the test part and print the metrics.") var test = false
    @Flag(help: "Train and report, but do not save the model.") var noSave = false

    func validate() throws {
        do { try options.configuration.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        do {
            prepareAllocatorForTraining()
            let curatorStore = try CuratorStore(path: store.path)
            let data = try TrainingData.load(store: curatorStore, split: split, modelDirectory: modelDirectory)
            let config = options.configuration
            printErr("training \(config.kind.rawValue) (loss \(config.loss.rawValue), dim \(config.dimension), lr \(config.learningRate), dropout \(config.dropout)) on split '\(split)': \(data.training.eventCount) training events, \(data.validation.shopperCount) validation shoppers")
            var model = try NeuralRecommender(configuration: config, productCount: data.productKeys.count,
                                              productVectors: data.vectors, lmDimension: data.dimension)
            let summary = try model.train(data.training, validation: data.validation, progress: printEpoch)
            var metrics: [String: Any] = [
                "validation_ndcg@10": summary.bestValidationNDCG ?? 0, "best_epoch": summary.bestEpoch,
                "epochs": summary.epochs.count, "training_seconds": summary.seconds, "split": split,
            ]
            var testReport: EvaluationReport?
            if test {
                let set = EvaluationSet(split: data.split, part: .test)
                let report = Evaluator().evaluate(model, on: set).report
                testReport = report
                for key in ["ndcg@10", "recall@10", "hr@10", "mrr@10", "ndcg@20", "recall@20"] { metrics["test_\(key)"] = report[key] ?? 0 }
            }
            print(String(format: "%@: best epoch %d of %d, validation NDCG@10 %.4f, %.0f s", model.name, summary.bestEpoch,
                         summary.epochs.count, summary.bestValidationNDCG ?? 0, summary.seconds))
            if let testReport {
                print(String(format: "test: NDCG@10 %.4f  Recall@10 %.4f  HR@10 %.4f  MRR@10 %.4f  NDCG@20 %.4f  Recall@20 %.4f  (%d shoppers)",
                             testReport["ndcg@10"] ?? 0, testReport["recall@10"] ?? 0, testReport["hr@10"] ?? 0,
                             testReport["mrr@10"] ?? 0, testReport["ndcg@20"] ?? 0, testReport["recall@20"] ?? 0, testReport.shoppers))
            }
            if !noSave {
                let version = try saveTrainedModel(model, config: config, metrics: metrics, data: data, store: curatorStore)
                // Read it back as `curator evaluate` and the server will, and check the scores agree exactly.
                let reloaded = try loadTrainedRecommender(name: model.name, store: curatorStore, productKeys: data.productKeys,
                                                          productVectors: data.vectors, dimension: data.dimension, version: version)
                let sample = data.validation.shoppers.prefix(64).map { data.validation.histories[Int($0)] }
                let n = data.productKeys.count
                var a = [Float](repeating: 0, count: sample.count * n), b = a
                a.withUnsafeMutableBufferPointer { model.scores(for: sample, productCount: n, into: $0) }
                b.withUnsafeMutableBufferPointer { reloaded.scores(for: sample, productCount: n, into: $0) }
                guard a == b else { throw CuratorError.model("the saved \(model.name) version \(version) scores differently after loading") }
                print("saved \(model.name) version \(version) (reloaded from the store: identical scores)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}

/// Training allocates and frees buffers of tens of megabytes every step; by default glibc maps
/// and unmaps each one (page faults, zeroing by the kernel). This keeps them in the heap for
/// reuse instead. (Not yet measured in isolation on an idle machine.)
func prepareAllocatorForTraining() {
    #if os(Linux)
    _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 512 << 20)
    _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
    #endif
}

#if os(Linux)
/// glibc's mallopt(3); Swift's Glibc module does not export <malloc.h>.
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Prints one progress line per epoch on standard error.
func printEpoch(_ r: EpochReport) {
    let ndcg = r.validationNDCG.map { String(format: "%.4f", $0) } ?? "-"
    printErr(String(format: "epoch %3d  loss %.4f  validation ndcg@10 %@  %.1f s", r.epoch, r.loss, ndcg, r.seconds))
}

/// A saved split with the product vectors, ready for training.
struct TrainingData {
    var split: DataSplit
    var training: ShopperHistories
    var validation: EvaluationSet
    var productKeys: [String]
    var vectors: [Float]
    var dimension: Int
    var fingerprint: String

    static func load(store: CuratorStore, split name: String, modelDirectory: String?) throws -> TrainingData {
        guard let saved = try store.split(named: name) else {
            throw CuratorError.notFound(what: "split '\(name)' (make one with: curator split)")
        }
        let split = try EvaluateCommand.load(saved, from: store)
        let (vectors, dimension) = try loadProductVectors(store: store, modelDirectory: modelDirectory)
        return TrainingData(split: split, training: split.trainingHistories, validation: EvaluationSet(split: split, part: .validation),
                            productKeys: split.log.productKeys, vectors: vectors, dimension: dimension,
                            fingerprint: try store.dataFingerprint())
    }
}

/// The language-model vector of every product in `interactionLog()` order, embedding what is missing first.
func loadProductVectors(store: CuratorStore, modelDirectory: String?) throws -> (vectors: [Float], dimension: Int) {
    let embedding = try CatalogueEmbedding.open(store: store, model: modelDirectory)
    return try embedding.upToDateVectors(progress: ProgressLine(label: "embedding").callback)
}

/// Saves a trained model as the next version of its name; returns the version.
func saveTrainedModel(_ model: NeuralRecommender, config: NeuralConfiguration, metrics: [String: Any],
                      data: TrainingData, store: CuratorStore) throws -> Int {
    let parameters = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self)
    let metricsJSON = String(decoding: try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys]), as: UTF8.self)
    return try store.saveModel(StoredModel(
        name: model.name, dataFingerprint: data.fingerprint, parameters: parameters, metrics: metricsJSON,
        payload: try model.serialized(productKeys: data.productKeys)))
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// The latest saved version of a trained model (`sequential`, `two-tower`), ready to score the
/// current catalogue: `productKeys` in `interactionLog()` order with their language-model vectors.
/// For `curator evaluate --model sequential` and the server.
func loadTrainedRecommender(name: String, store: CuratorStore, productKeys: [String], productVectors: [Float],
                            dimension: Int, version: Int? = nil) throws -> NeuralRecommender {
    guard let saved = try store.model(named: name, version: version), let payload = saved.payload else {
        throw CuratorError.notFound(what: "trained model '\(name)'\(version.map { " version \($0)" } ?? "") (train one with: curator train --model \(name))")
    }
    if try saved.dataFingerprint != store.dataFingerprint() {
        printErr("curator: note: \(name) version \(saved.version) was trained on different data (events or products changed since)")
    }
    return try NeuralRecommender(payload: payload, productKeys: productKeys, productVectors: productVectors, lmDimension: dimension)
}
