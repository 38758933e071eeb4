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

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a learned model (sequential or two-tower) on a saved split and save it as a new version.",
        discussion: "Trains on the split's train part, stops early on validation NDCG@10 and keeps the best epoch. Needs curator split and curator embed first.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: NeuralOptions
    @Option(help: "The saved split to train on.") var split = "loo"
    @Option(name: .customLong("language-model"), help: "Language model: a name or a folder (default: the one the store was embedded with).")
    var modelDirectory: String?
    @Flag(help: "Also evaluate the trained model on the test part and print the metrics.") var test = false
    @Flag(help: "Train and report, but do not save the model.") var noSave = false

    func validate() throws {
        do { try options.configuration.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        do {
            let (curatorStore, data) = try await trainingData(store: store, split: split, languageModel: modelDirectory)
            let config = options.configuration
            printErr("training \(config.kind.rawValue) (loss \(config.loss.rawValue), dim \(config.dimension), lr \(config.learningRate), dropout \(config.dropout)) on split '\(split)': \(data.training.eventCount) training events, \(data.validation.shopperCount) validation shoppers")
            var model = try data.makeModel(config)
            let summary = try model.train(data.training, validation: data.validation, progress: printEpoch)
            print(String(format: "%@: best epoch %d of %d, validation NDCG@10 %.4f, %.0f s", model.name, summary.bestEpoch,
                         summary.epochs.count, summary.bestValidationNDCG ?? 0, summary.seconds))
            var testMetrics: [String: Double] = [:]
            if test {
                let report = Evaluator().evaluate(model, on: EvaluationSet(split: data.split.data, part: .test)).report
                for key in ["ndcg@10", "recall@10", "hr@10", "mrr@10", "ndcg@20", "recall@20"] { testMetrics["test_\(key)"] = report[key] ?? 0 }
                print(String(format: "test: NDCG@10 %.4f  Recall@10 %.4f  HR@10 %.4f  MRR@10 %.4f  NDCG@20 %.4f  Recall@20 %.4f  (%d shoppers)",
                             report["ndcg@10"] ?? 0, report["recall@10"] ?? 0, report["hr@10"] ?? 0,
                             report["mrr@10"] ?? 0, report["ndcg@20"] ?? 0, report["recall@20"] ?? 0, report.shoppers))
            }
            if !noSave {
                let version = try await data.save(model, summary: summary, extraMetrics: testMetrics, in: curatorStore)
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
    _ = glibcMallopt(-3, 512 << 20)  // M_MMAP_THRESHOLD
    _ = glibcMallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
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

/// What `train` and `tune` learn from: the split's parts and every product's language-model
/// vector (embedding what is missing first), with the allocator set up for training.
func trainingData(store options: StoreOptions, split: String, languageModel: String?) async throws -> (store: any CuratorStoring, data: TrainingData) {
    prepareAllocatorForTraining()
    let store = try await options.open()
    let data = try await TrainingData.load(from: store, split: split) {
        try await CatalogueEmbedding.open(store: store, model: languageModel).upToDateVectors(progress: ProgressLine(label: "embedding").callback)
    }
    return (store, data)
}
