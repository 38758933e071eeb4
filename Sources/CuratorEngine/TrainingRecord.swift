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
        let metrics = ModelMetrics(json: metricsJSON)
        splitName = metrics.split
        splitFingerprint = metrics.splitFingerprint
        languageModel = metrics.languageModel
        if let part = metrics.earlyStoppingPart {
            earlyStoppingPart = SplitPart(rawValue: part)
        } else {
            earlyStoppingPart = metrics.bestEpoch != nil ? .validation : nil
        }
    }

    /// The record written into the metrics saved with a model.
    func record(into metrics: inout ModelMetrics) {
        metrics.split = splitName
        metrics.splitFingerprint = splitFingerprint
        metrics.earlyStoppingPart = earlyStoppingPart?.rawValue
        metrics.languageModel = languageModel
    }

    /// Whether the model was trained on exactly this split (a model saved before fingerprints
    /// were recorded is taken at its split's name).
    public func wasTrained(on split: LoadedSplit) -> Bool {
        splitName == split.name && (splitFingerprint.map { $0 == split.fingerprint } ?? true)
    }
}
