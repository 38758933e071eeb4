import CuratorCore
import Foundation

/// One saved version of a trained model.
public struct StoredModel: Sendable, Hashable {
    public var name: String
    /// 1, 2, … per name; the highest is the latest.
    public var version: Int
    public var createdAtMillis: Int64
    /// `CuratorStore.dataFingerprint()` of the data it was trained on.
    public var dataFingerprint: String
    /// Hyper-parameters as JSON text.
    public var parameters: String
    /// Metrics (e.g. validation NDCG@10, training time) as JSON text.
    public var metrics: String
    /// The weights; nil when listed without them.
    public var payload: Data?

    public init(name: String, version: Int = 0, createdAtMillis: Int64 = 0, dataFingerprint: String,
                parameters: String, metrics: String, payload: Data?) {
        self.name = name
        self.version = version
        self.createdAtMillis = createdAtMillis
        self.dataFingerprint = dataFingerprint
        self.parameters = parameters
        self.metrics = metrics
        self.payload = payload
    }
}
