import CuratorCore
import Foundation
import Recommenders
import Storage

/// Why an evaluation cannot run as asked.
public enum EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownModel(String)
    /// Only test and validation are evaluated.
    case trainPart
    /// No version of a trained model was trained on the split being evaluated.
    case trainedOnAnotherSplit(model: String, split: String, trainedOn: [String])
    /// The split was made again under its name after the model was trained on the earlier one.
    case splitMadeAgain(model: String, split: String)

    public var description: String {
        switch self {
        case .unknownModel(let name):
            return "unknown model '\(name)' (use one of \(EvaluationRun.modelNames.joined(separator: ", ")))"
        case .trainPart:
            return "only the test and validation parts are evaluated"
        case .trainedOnAnotherSplit(let model, let split, let trainedOn):
            let other = trainedOn.isEmpty ? "no recorded split" : "split " + trainedOn.map { "'\($0)'" }.joined(separator: ", ")
            return "\(model) was trained on \(other), not on '\(split)': its training and early stopping saw events that '\(split)' holds out, so its figures there would be meaningless; train it on this split first: curator train --model \(model) --split \(split)"
        case .splitMadeAgain(let model, let split):
            return "split '\(split)' was made again after \(model) was trained on it, so the events it now holds out may have been training events; train again: curator train --model \(model) --split \(split)"
        }
    }
}

/// One model's figures in an evaluation.
public struct ModelResult: Sendable {
    public var name: String
    /// The saved version, for trained models.
    public var version: Int?
    public var report: EvaluationReport
    public var seconds: Double
    public var rankings: ShopperRankings

    /// The name as reports print it: with the version, and marked when measured on the model's
    /// early-stopping set.
    public var label: String { report.label(for: version.map { "\(name) v\($0)" } ?? name) }
}

/// `curator evaluate`: ranks the whole catalogue for every held-out shopper of one part of a
/// saved split with each model, and keeps every model's figures.
///
/// A trained model is scored only on the split it was trained on: on any other split its
/// training would have seen the events held out (a model trained through leave-one-out has
/// seen the test period of a time split). On the validation part, a trained model's figures
/// are marked as measured on its early-stopping set.
public struct EvaluationRun: Sendable {
    /// Models fitted here on the split's histories.
    public static let baselineNames = ["popular", "itemknn", "semantic"]
    /// Models trained with `curator train`, evaluated from their newest version trained on the split.
    public static let trainedNames = ServingModel.servableNames
    public static var modelNames: [String] { baselineNames + trainedNames }

    public let split: LoadedSplit
    public let part: SplitPart
    public let set: EvaluationSet
    /// How every model is evaluated: plain, or with lists re-ranked for variety (`variety`).
    var evaluator = Evaluator()
    public private(set) var results: [ModelResult] = []
    /// What a reader should know: models skipped and why, data changed since the split.
    public private(set) var notes: [String] = []

    /// Evaluates `models` (nil: every baseline, and each trained model with a version trained
    /// on this split) on `part` of the split saved as `splitName`.
    /// - Parameter vectors: the language-model vector of every live product in
    ///   `CuratorStoring.allProducts()` order, asked for once and only if a model needs them.
    ///   When evaluating every model and they cannot be had, the models needing them are skipped with a note.
    /// - Parameter variety: re-rank every list as the server does with these settings, and report
    ///   `ild@10` and `categories@10` beside accuracy (needs the product vectors).
    public static func run(store: any CuratorStoring, split splitName: String, part: SplitPart, models: [String]? = nil,
                           variety: ListVariety? = nil,
                           vectors: () async throws -> (vectors: [Float], dimension: Int)) async throws -> EvaluationRun {
        guard part != .train else { throw EvaluationError.trainPart }
        for name in models ?? [] where !modelNames.contains(name) { throw EvaluationError.unknownModel(name) }
        let split = try await LoadedSplit.load(named: splitName, from: store)
        var run = EvaluationRun(split: split, part: part, set: EvaluationSet(split: split.data, part: part))
        if split.dataChanged {
            run.notes.append("the data changed since split '\(splitName)' was made; events added since are left out")
        }
        let explicit = models != nil
        var names = models ?? baselineNames
        if models == nil {
            let saved = Set(try await store.models().map(\.name))
            names += trainedNames.filter { saved.contains($0) }
        }
        var productVectors: (vectors: [Float], dimension: Int)?
        var vectorFailure: String?
        func languageModelVectors() async throws -> (vectors: [Float], dimension: Int)? {
            if let productVectors { return productVectors }
            if vectorFailure != nil { return nil }
            do {
                productVectors = try await vectors()
                return productVectors
            } catch where !explicit {
                vectorFailure = "\(error)"
                return nil
            }
        }
        if let variety {
            guard let lm = try await languageModelVectors() else {
                throw CuratorError.model("--diversity needs the products' language-model vectors: \(vectorFailure ?? "none")")
            }
            let categories = Dictionary(try await store.allProducts().map { ($0.product.id, $0.product.category.lowercased()) }) { first, _ in first }
            run.evaluator.variety = variety
            run.evaluator.productSpace = Evaluator.ProductSpace(vectors: lm.vectors, dimension: lm.dimension,
                                                                categories: split.data.log.productKeys.map { categories[$0] ?? "" })
        }
        for name in names {
            if trainedNames.contains(name) {
                let stored: StoredModel
                do {
                    stored = try await run.trainedVersion(named: name, in: store)
                } catch let error as EvaluationError where !explicit {
                    run.notes.append("\(name) skipped: \(error)")
                    continue
                }
                guard let lm = try await languageModelVectors() else {
                    run.notes.append("\(name) skipped: \(vectorFailure ?? "no product vectors")")
                    continue
                }
                try await run.evaluateTrained(stored, vectors: lm, store: store)
            } else if name == "semantic" {
                guard let lm = try await languageModelVectors() else {
                    run.notes.append("semantic skipped: \(vectorFailure ?? "no product vectors")")
                    continue
                }
                var model = SemanticRecommender(productVectors: lm.vectors, dimension: lm.dimension)
                try run.fitAndEvaluate(&model)
            } else if name == "itemknn" {
                var model = ItemKNNRecommender()
                try run.fitAndEvaluate(&model)
            } else {
                var model = PopularRecommender()
                try run.fitAndEvaluate(&model)
            }
        }
        return run
    }

    init(split: LoadedSplit, part: SplitPart, set: EvaluationSet) {
        self.split = split
        self.part = part
        self.set = set
    }

    /// Baselines learn from the histories the evaluated shoppers have (train, or train +
    /// validation for test), as a deployed model would.
    private mutating func fitAndEvaluate<Model: Recommender>(_ model: inout Model) throws {
        let start = Date()
        try model.fit(split.data.histories(evaluating: part))
        record(evaluator.evaluate(model, on: set), name: model.name, version: nil, since: start)
    }

    private mutating func evaluateTrained(_ stored: StoredModel, vectors lm: (vectors: [Float], dimension: Int),
                                          store: any CuratorStoring) async throws {
        let start = Date()
        let model = try await ServingModel.load(named: stored.name, version: stored.version, from: store,
                                          productIDs: split.data.log.productKeys, vectors: lm.vectors, lmDimension: lm.dimension)
        if !model.trainedOnCurrentData {
            notes.append("\(model.name) v\(model.version) was trained on different data (events or products changed since)")
        }
        record(evaluator.evaluate(model.recommender, on: set), name: model.name, version: model.version, since: start)
    }

    private mutating func record(_ evaluation: Evaluation, name: String, version: Int?, since start: Date) {
        results.append(ModelResult(name: name, version: version, report: evaluation.report,
                                   seconds: Date().timeIntervalSince(start), rankings: evaluation.rankings))
    }

    /// The newest version of `name` trained on this split, without its weights.
    func trainedVersion(named name: String, in store: any CuratorStoring) async throws -> StoredModel {
        let versions = try await store.models().filter { $0.name == name }
        guard !versions.isEmpty else {
            throw CuratorError.notFound(what: "trained model '\(name)' (train one with: curator train --model \(name) --split \(split.name))")
        }
        let languageModel = try await store.languageModel()
        let all = versions.map { (model: $0, training: TrainingRecord(metricsJSON: $0.metrics)) }
        let records = all.filter { $0.training.fits(languageModel: languageModel) }
        if records.isEmpty, let other = all.compactMap(\.training.languageModel).first {
            throw CuratorError.configuration(
                "every saved \(name) was trained over \(other) vectors, but \(store.name) now uses \(languageModel ?? "another language model"); train it again: curator train --model \(name)")
        }
        if let newest = records.filter({ $0.training.wasTrained(on: split) }).max(by: { $0.model.version < $1.model.version }) {
            return newest.model
        }
        if records.contains(where: { $0.training.splitName == split.name }) {
            throw EvaluationError.splitMadeAgain(model: name, split: split.name)
        }
        var trainedOn: [String] = []
        for record in records { if let s = record.training.splitName, !trainedOn.contains(s) { trainedOn.append(s) } }
        throw EvaluationError.trainedOnAnotherSplit(model: name, split: split.name, trainedOn: trainedOn)
    }
}
