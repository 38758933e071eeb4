import CuratorCore
import CuratorEngine
import XCTest

/// The typed documents saved with models and evaluations read what earlier versions wrote and
/// write the same flat JSON.
final class ModelMetadataTests: XCTestCase {
    func testMetricsRoundTripWithTheirExtraFigures() throws {
        let metrics = ModelMetrics(validationNDCG10: 0.0762, bestEpoch: 10, epochs: 14, trainingSeconds: 512.5, split: "loo",
                                   splitFingerprint: "abc", earlyStoppingPart: "validation", languageModel: "all-MiniLM-L6-v2",
                                   extra: ["tuned_trials": 8, "test_ndcg@10": 0.061])
        let text = try CuratorJSON.text(metrics)
        XCTAssertEqual(text, #"{"best_epoch":10,"early_stopping_part":"validation","epochs":14,"language_model":"all-MiniLM-L6-v2","split":"loo","split_fingerprint":"abc","test_ndcg@10":0.061,"training_seconds":512.5,"tuned_trials":8,"validation_ndcg@10":0.0762}"#)
        XCTAssertEqual(ModelMetrics(json: text), metrics)
    }

    func testMetricsWrittenByEarlierVersionsStillTellHowTheModelTrained() {
        // As `JSONSerialization` wrote them before the record was typed, without the part.
        let record = TrainingRecord(metricsJSON: #"{"best_epoch":3,"epochs":5,"split":"loo","training_seconds":1.5,"validation_ndcg@10":0.05}"#)
        XCTAssertEqual(record.splitName, "loo")
        XCTAssertEqual(record.earlyStoppingPart, .validation, "a best epoch means it stopped on validation")
        XCTAssertNil(TrainingRecord(metricsJSON: "{}").earlyStoppingPart)
        XCTAssertNil(TrainingRecord(metricsJSON: "not json").splitName, "unreadable metrics are an empty record, not an error")
    }
}
