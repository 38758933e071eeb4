import CuratorCore
import Foundation
import OnlineMeasurement
import Storage

/// What a caller asked of the online loop that cannot be done, said so they can fix it.
public enum OnlineRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bad input: which field, and what is wrong with it.
    case invalid(field: String, message: String)
    case unknownList(String)
    /// A session reported a list served to another shopper.
    case otherShoppersList
    case unknownExperiment(String)
    /// The request conflicts with what is stored (a name taken, a surface already tested).
    case conflict(String)

    public var description: String {
        switch self {
        case .invalid(_, let message): message
        case .unknownList(let id): "no served list has the id '\(id)'"
        case .otherShoppersList: "this list was served to another shopper; a session token reports its own shopper's lists only"
        case .unknownExperiment(let name): "no experiment is named '\(name)'"
        case .conflict(let message): message
        }
    }
}

/// What makes an experiment valid, and its life in a store: one implementation for the server
/// and the CLI.
public enum ExperimentRules {
    /// Checks an experiment before it starts: a name of letters, digits, `.`, `_` or `-`; the
    /// shopper or anonymous surface (the others have one model); two or more variants with
    /// distinct names and positive weights (exactly two to interleave); each variant's model
    /// `popular`, `semantic`, `itemknn`, or a stored trained model over the store's language model
    /// (`sequential`: its newest version; `sequential@3`: that one).
    public static func check(name: String, surface: Surface, method: Experiment.Method, variants: [Experiment.Variant],
                             store: any TrainingStore & EmbeddingStore) async throws {
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy({ byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }) else {
            throw OnlineRequestError.invalid(field: "name", message: "field 'name': '\(name.prefix(80))' must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        guard surface == .shopper || surface == .anonymous else {
            throw OnlineRequestError.invalid(field: "surface",
                                             message: "field 'surface': experiments compare recommendation models, on 'shopper' or 'anonymous'; '\(surface.rawValue)' has one model")
        }
        if method == .interleave, variants.count != 2 {
            throw OnlineRequestError.invalid(field: "variants", message: "field 'variants': interleaving merges exactly two variants (got \(variants.count))")
        }
        guard variants.count >= 2 else {
            throw OnlineRequestError.invalid(field: "variants", message: "field 'variants': an experiment needs at least two variants (got \(variants.count))")
        }
        var names = Set<String>()
        for (i, variant) in variants.enumerated() {
            guard !variant.name.isEmpty, names.insert(variant.name).inserted else {
                throw OnlineRequestError.invalid(field: "variants[\(i)].name",
                                                 message: "field 'variants[\(i)].name': '\(variant.name)' is empty or names another variant too")
            }
            guard variant.weight.isFinite, variant.weight > 0 else {
                throw OnlineRequestError.invalid(field: "variants[\(i)].weight", message: "field 'variants[\(i)].weight': \(variant.weight) is not a positive number")
            }
            guard !["popular", "semantic", "itemknn"].contains(variant.model) else { continue }
            let (model, version) = trainedModel(variant.model)
            let languageModel = try await store.languageModel()
            let stored = ServingModel.servableNames.contains(model) ? try await store.model(named: model, version: version) : nil
            guard let stored, TrainingRecord(metricsJSON: stored.metrics).fits(languageModel: languageModel) else {
                throw OnlineRequestError.invalid(field: "variants[\(i)].model",
                                                 message: "field 'variants[\(i)].model': '\(variant.model)' is not a model this store can serve: popular, semantic, itemknn, or a trained model it holds (sequential, two-tower, or NAME@VERSION)")
            }
        }
    }

    /// A trained variant's model as written: `sequential` (newest version) or `sequential@3`.
    static func trainedModel(_ text: String) -> (name: String, version: Int?) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        return (parts.first ?? text, parts.count == 2 ? Int(parts[1]) : nil)
    }

    /// Stores a checked experiment, unless one runs on the surface already or the name is taken.
    public static func create(name: String, surface: Surface, method: Experiment.Method, variants: [Experiment.Variant],
                              in store: any OnlineLogStore) async throws -> Experiment {
        if let running = try await store.experiments().first(where: { $0.isRunning && $0.surface == surface }) {
            throw OnlineRequestError.conflict("experiment '\(running.name)' already runs on the \(surface.rawValue) surface; stop it first")
        }
        let experiment = Experiment(name: name, surface: surface, method: method, variants: variants, startedAtMillis: Timestamps.nowMillis())
        guard try await store.createExperiment(experiment) else {
            // Another replica may have started one on the surface since the check above.
            if let running = try await store.experiments().first(where: { $0.isRunning && $0.surface == surface && $0.name != name }) {
                throw OnlineRequestError.conflict("experiment '\(running.name)' already runs on the \(surface.rawValue) surface; stop it first")
            }
            throw OnlineRequestError.conflict("an experiment named '\(name)' exists already (names are kept after a stop, so reports stay apart)")
        }
        return experiment
    }

    public static func stop(named name: String, in store: any OnlineLogStore) async throws -> Experiment {
        guard try await store.stopExperiment(named: name, atMillis: Timestamps.nowMillis()) else {
            guard try await store.experiments().contains(where: { $0.name == name }) else { throw OnlineRequestError.unknownExperiment(name) }
            throw OnlineRequestError.conflict("experiment '\(name)' is stopped already")
        }
        guard let stopped = try await store.experiments().first(where: { $0.name == name }) else { throw OnlineRequestError.unknownExperiment(name) }
        return stopped
    }

    /// How an experiment stands, from the lists stored so far.
    public static func status(named name: String, in store: any OnlineLogStore) async throws -> ExperimentStatus {
        guard let experiment = try await store.experiments().first(where: { $0.name == name }) else { throw OnlineRequestError.unknownExperiment(name) }
        let slice = try await store.onlineLog(fromMillis: experiment.startedAtMillis, untilMillis: (experiment.stoppedAtMillis ?? Timestamps.nowMillis()) + 1)
        return ExperimentStatus(experiment: experiment, slice: slice)
    }
}
