import ArgumentParser
import CuratorCore
import CuratorEngine
import Foundation
import Recommenders
import Storage

struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Random search over learning rate, width, dropout, negatives and history length on the validation part.",
        discussion: "Options given on the command line stay fixed; the others are drawn for each trial. The best trial is saved as a new model version.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: NeuralOptions
    @Option(help: "How many trials.") var trials = 8
    @Option(help: "The saved split to tune on.") var split = "loo"
    @Option(name: .customLong("search-seed"), help: "Seed of the random search.") var searchSeed: UInt64 = 7
    @Option(name: .customLong("language-model"), help: "Language model: a name or a folder (default: the one the store was embedded with).")
    var modelDirectory: String?
    @Flag(help: "Do not save the best trial.") var noSave = false

    func validate() throws {
        if trials < 1 { throw ValidationError("--trials must be at least 1") }
        do { try options.configuration.validate() } catch { throw ValidationError("\(error)") }
    }

    /// One trial's configuration: the fixed options, the rest drawn from the search space.
    func draw(_ rng: inout SeededGenerator) -> NeuralConfiguration {
        var c = options.configuration
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        if options.lr == nil { c.learningRate = pick([5e-4, 1e-3, 2e-3, 3e-3]) }
        if options.dim == nil { c.dimension = pick([48, 64, 96, 128]) }
        if options.dropout == nil { c.dropout = pick([0.1, 0.2, 0.3, 0.4, 0.5]) }
        if options.negatives == nil { c.negatives = pick([8, 16, 32, 64]) }
        if options.maxLength == nil { c.maxLength = pick([20, 30, 50]) }
        if options.idDecay == nil { c.idWeightDecay = pick([0, 0.01, 0.1, 0.5]) }
        if options.feedForward == nil { c.feedForward = c.dimension * 2 }
        if c.dimension % c.heads != 0 { c.heads = 1 }
        return c
    }

    func run() async throws {
        do {
            let (curatorStore, data) = try await trainingData(store: store, split: split, languageModel: modelDirectory)
            var rng = SeededGenerator(seed: searchSeed)
            var best: (config: NeuralConfiguration, model: NeuralRecommender, summary: TrainingSummary)?
            for trial in 1...trials {
                let config = draw(&rng)
                printErr("trial \(trial)/\(trials): lr \(config.learningRate), dim \(config.dimension), dropout \(config.dropout), max length \(config.maxLength), id decay \(config.idWeightDecay)" + (config.loss == .bce || config.loss == .bpr ? ", negatives \(config.negatives)" : ""))
                var model = try data.makeModel(config)
                let summary = try model.train(data.training, validation: data.validation, progress: printEpoch)
                let ndcg = summary.bestValidationNDCG ?? 0
                print(String(format: "trial %2d  validation ndcg@10 %.4f  epoch %d  %.0f s  lr %g dim %d dropout %g max-length %d id-decay %g negatives %d",
                             trial, ndcg, summary.bestEpoch, summary.seconds, config.learningRate, config.dimension,
                             config.dropout, config.maxLength, config.idWeightDecay, config.negatives))
                if best.map({ ndcg > $0.summary.bestValidationNDCG ?? 0 }) ?? true { best = (config, model, summary) }
            }
            guard let best else { return }
            print(String(format: "best: validation ndcg@10 %.4f with lr %g dim %d dropout %g max-length %d id-decay %g",
                         best.summary.bestValidationNDCG ?? 0, best.config.learningRate, best.config.dimension,
                         best.config.dropout, best.config.maxLength, best.config.idWeightDecay))
            if !noSave {
                let version = try await data.save(best.model, summary: best.summary, extraMetrics: ["tuned_trials": Double(trials)], in: curatorStore)
                print("saved \(best.model.name) version \(version)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
    }
}
