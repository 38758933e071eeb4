import Foundation
import Recommenders
import Storage

/// What a saved model records about how it was trained, kept in its metrics JSON: the split
/// it learned from and the part that decided when it stopped. Evaluation reads it to score a
/// model only on the split it was trained on, and to label figures measured on its
/// early-stopping set.
public struct TrainingRecord: Sendable, Equatable {
    /// The split's name (nil: not recorded, e.g. a benchmark's model).
    public var splitName: String?
    /// `LoadedSplit.fingerprint` of that split (nil in models saved before it was recorded).
    public var splitFingerprint: String?
    /// The part watched for early stopping (`curator train` and `tune` stop on validation).
    public var earlyStoppingPart: SplitPart?
    /// The store's language model when it was trained (`CuratorStoring.languageModel()`): a model
    /// learned over one model's vectors means nothing over another's.
    public var languageModel: String?

    public init(splitName: String?, splitFingerprint: String?, earlyStoppingPart: SplitPart?, languageModel: String? = nil) {
        self.splitName = splitName
        self.splitFingerprint = splitFingerprint
        self.earlyStoppingPart = earlyStoppingPart
        self.languageModel = languageModel
    }

    /// Whether it can score with the vectors of `current` (models saved before the language
    /// model was recorded are taken to match).
    public func fits(languageModel current: String?) -> Bool {
        languageModel == nil || current == nil || languageModel == current
    }

    /// Reads the record from a saved model's metrics JSON. Models saved before the part was
    /// recorded stopped on validation whenever they have a best epoch (that is how `train` and
    /// `tune` always ran).
    public init(metricsJSON: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(metricsJSON.utf8))) as? [String: Any] ?? [:]
        splitName = object[Key.split] as? String
        splitFingerprint = object[Key.splitFingerprint] as? String
        languageModel = object[Key.languageModel] as? String
        if let part = object[Key.earlyStoppingPart] as? String {
            earlyStoppingPart = SplitPart(rawValue: part)
        } else {
            earlyStoppingPart = object[Key.bestEpoch] != nil ? .validation : nil
        }
    }

    /// The record's entries, to merge into the metrics saved with a model.
    var metrics: [String: Any] {
        var out: [String: Any] = [:]
        if let splitName { out[Key.split] = splitName }
        if let splitFingerprint { out[Key.splitFingerprint] = splitFingerprint }
        if let earlyStoppingPart { out[Key.earlyStoppingPart] = earlyStoppingPart.rawValue }
        if let languageModel { out[Key.languageModel] = languageModel }
        return out
    }

    /// Whether the model was trained on exactly this split (a model saved before fingerprints
    /// were recorded is taken at its split's name).
    public func wasTrained(on split: LoadedSplit) -> Bool {
        splitName == split.name && (splitFingerprint.map { $0 == split.fingerprint } ?? true)
    }

    enum Key {
        static let split = "split"
        static let splitFingerprint = "split_fingerprint"
        static let earlyStoppingPart = "early_stopping_part"
        static let bestEpoch = "best_epoch"
        static let languageModel = "language_model"
    }
}
