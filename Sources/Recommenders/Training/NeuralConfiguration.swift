import CuratorCore
import Foundation

/// Which learned model: a causal self-attention network over the ordered history, or a
/// two-tower matching model over pooled history.
public enum NeuralModelKind: String, Codable, Sendable, CaseIterable, Hashable {
    case sequential
    case twoTower = "two-tower"
}

/// The training objective.
public enum TrainingLoss: String, Codable, Sendable, CaseIterable, Hashable {
    /// Full softmax cross-entropy over every product (one `sgemm` per batch).
    case softmax
    /// Softmax over the batch's distinct targets (in-batch negatives) with log-Q correction.
    case sampledSoftmax = "sampled-softmax"
    /// Pointwise sigmoid cross-entropy: the next product against `negatives` uniform samples.
    case bce
    /// Pairwise: the next product should score above each of `negatives` uniform samples.
    case bpr
}

/// How the two-tower model pools a shopper's history before its MLP.
public enum HistoryPooling: String, Codable, Sendable, CaseIterable, Hashable {
    case mean
    /// Weighted mean with weight `recencyDecay`^age (age in positions from the newest event).
    case recency
    /// One causal self-attention layer over the history (the newest event's output is the pool).
    case attention
}

/// Everything that defines a learned model and its training run; saved with the model as JSON.
public struct NeuralConfiguration: Codable, Sendable, Hashable {
    public var kind: NeuralModelKind
    public var loss: TrainingLoss = .softmax
    /// Width of product and shopper representations.
    public var dimension: Int = 64
    public var heads: Int = 2
    public var blocks: Int = 2
    /// Inner width of the feed-forward layers.
    public var feedForward: Int = 128
    /// How many of the newest history events the model reads.
    public var maxLength: Int = 50
    public var dropout: Float = 0.3
    /// Sampled negatives per position for bce and bpr.
    public var negatives: Int = 32
    public var learningRate: Float = 1e-3
    /// AdamW decay of the dense weights.
    public var weightDecay: Float = 0
    /// AdamW decay of the learned id embeddings: pulls each product's representation toward
    /// the projection of its language-model vector, so rarely seen products keep a good one.
    public var idWeightDecay: Float = 0.1
    /// Use the frozen language-model vectors in the product representation.
    public var useLanguageModel: Bool = true
    public var batchSize: Int = 128
    public var epochs: Int = 40
    /// Stop after this many validations without a better NDCG@10.
    public var patience: Int = 4
    public var clipNorm: Float = 5
    public var seed: UInt64 = 1
    public var pooling: HistoryPooling = .recency
    public var recencyDecay: Float = 0.7

    public init(kind: NeuralModelKind) {
        self.kind = kind
        if kind == .twoTower {
            dropout = 0.1
            blocks = 1
            heads = 1
        }
    }

    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw CuratorError.configuration(message) }
        }
        try check(dimension > 0 && dimension % heads == 0, "dimension must be a positive multiple of heads")
        try check(heads > 0 && blocks >= 0 && feedForward > 0, "heads, blocks and feed-forward width must be positive")
        try check(maxLength > 0, "max length must be positive")
        try check(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)")
        try check(negatives > 0, "negatives must be positive")
        try check(learningRate > 0, "learning rate must be positive")
        try check(batchSize > 0 && epochs >= 0 && patience > 0, "batch size, epochs and patience must be positive")
        try check(recencyDecay > 0 && recencyDecay <= 1, "recency decay must be in (0, 1]")
    }
}

/// One epoch of training as the progress line shows it.
public struct EpochReport: Sendable, Codable, Hashable {
    public var epoch: Int
    public var loss: Double
    /// Validation NDCG@10, or nil when there was no validation set.
    public var validationNDCG: Double?
    public var seconds: Double
}

/// What a training run did.
public struct TrainingSummary: Sendable, Codable {
    public var epochs: [EpochReport]
    /// The epoch whose weights were kept (the best on validation; the last without validation).
    public var bestEpoch: Int
    public var bestValidationNDCG: Double?
    public var seconds: Double
}
