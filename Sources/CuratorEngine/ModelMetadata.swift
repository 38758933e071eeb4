import CuratorCore
import Foundation
import Recommenders

/// What is saved with a trained model as its metrics (`StoredModel.metrics`): how it trained,
/// on which split and language model, and any further figures (test metrics, tuning trials).
/// The JSON is flat, one key per figure, as `curator models list` shows it.
public struct ModelMetrics: Codable, Sendable, Equatable {
    public var validationNDCG10: Double?
    public var bestEpoch: Int?
    public var epochs: Int?
    public var trainingSeconds: Double?
    /// The split's name (nil: not recorded, e.g. a benchmark's model).
    public var split: String?
    /// `LoadedSplit.fingerprint` of that split (nil in models saved before it was recorded).
    public var splitFingerprint: String?
    /// The part watched for early stopping, as `SplitPart`'s raw value.
    public var earlyStoppingPart: String?
    /// The store's language model when it was trained.
    public var languageModel: String?
    /// Further figures by name.
    public var extra: [String: Double] = [:]

    public init(validationNDCG10: Double? = nil, bestEpoch: Int? = nil, epochs: Int? = nil, trainingSeconds: Double? = nil,
                split: String? = nil, splitFingerprint: String? = nil, earlyStoppingPart: String? = nil, languageModel: String? = nil,
                extra: [String: Double] = [:]) {
        self.validationNDCG10 = validationNDCG10
        self.bestEpoch = bestEpoch
        self.epochs = epochs
        self.trainingSeconds = trainingSeconds
        self.split = split
        self.splitFingerprint = splitFingerprint
        self.earlyStoppingPart = earlyStoppingPart
        self.languageModel = languageModel
        self.extra = extra
    }

    /// The metrics of a saved model; what cannot be read (an older or foreign document) is left out.
    public init(json: String) {
        self = (try? CuratorJSON.decode(ModelMetrics.self, from: json)) ?? ModelMetrics()
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case validationNDCG10 = "validation_ndcg@10", bestEpoch = "best_epoch", epochs, trainingSeconds = "training_seconds", split
        case splitFingerprint = "split_fingerprint", earlyStoppingPart = "early_stopping_part", languageModel = "language_model"
    }

    /// Any key, for the extra figures beside the named ones.
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let named = try decoder.container(keyedBy: CodingKeys.self)
        validationNDCG10 = try? named.decodeIfPresent(Double.self, forKey: .validationNDCG10)
        bestEpoch = try? named.decodeIfPresent(Int.self, forKey: .bestEpoch)
        epochs = try? named.decodeIfPresent(Int.self, forKey: .epochs)
        trainingSeconds = try? named.decodeIfPresent(Double.self, forKey: .trainingSeconds)
        split = try? named.decodeIfPresent(String.self, forKey: .split)
        splitFingerprint = try? named.decodeIfPresent(String.self, forKey: .splitFingerprint)
        earlyStoppingPart = try? named.decodeIfPresent(String.self, forKey: .earlyStoppingPart)
        languageModel = try? named.decodeIfPresent(String.self, forKey: .languageModel)
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in all.allKeys where !known.contains(key.stringValue) {
            if let value = try? all.decode(Double.self, forKey: key) { extra[key.stringValue] = value }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var all = encoder.container(keyedBy: AnyKey.self)
        for (name, value) in extra { try all.encode(value, forKey: AnyKey(stringValue: name)) }
        var named = encoder.container(keyedBy: CodingKeys.self)
        try named.encodeIfPresent(validationNDCG10, forKey: .validationNDCG10)
        try named.encodeIfPresent(bestEpoch, forKey: .bestEpoch)
        try named.encodeIfPresent(epochs, forKey: .epochs)
        try named.encodeIfPresent(trainingSeconds, forKey: .trainingSeconds)
        try named.encodeIfPresent(split, forKey: .split)
        try named.encodeIfPresent(splitFingerprint, forKey: .splitFingerprint)
        try named.encodeIfPresent(earlyStoppingPart, forKey: .earlyStoppingPart)
        try named.encodeIfPresent(languageModel, forKey: .languageModel)
    }
}

/// `curator evaluate --json` and the report the storefront's models page shows: every model's
/// figures on one split part.
public struct EvaluationSummary: Codable, Sendable, Equatable {
    public var split: String
    public var part: String
    public var shoppers: Int
    public var products: Int
    /// The cutoffs of the figures (`ndcg@10` …).
    public var k: [Int]
    /// The models in the order they were evaluated.
    public var order: [String]
    /// Figures by model, then by metric name.
    public var models: [String: [String: Double]]
    /// Models measured on the part they stopped early on (their figures flatter them).
    public var earlyStoppingSet: [String]

    enum CodingKeys: String, CodingKey {
        case split, part, shoppers, products, k, order, models, earlyStoppingSet = "early_stopping_set"
    }
}

/// One line of `curator evaluate --dump-rankings`: a shopper's held-out products and the model's top 20.
public struct RankingDumpLine: Codable, Sendable, Equatable {
    public var user: String
    public var targets: [String]
    /// The only target, when there is one (leave-one-out).
    public var target: String?
    public var ranked: [String]
}
