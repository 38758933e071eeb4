import CuratorCore
import Foundation
import Linear

/// The weights of a learned model and its forward pass; shared by training and scoring.
///
/// Product representation (both kinds): R = E_id + f(v), v the frozen language-model vector
/// and f a linear projection (sequential) or a two-layer MLP (two-tower). Weight decay on
/// E_id pulls R toward f(v), so a product seen rarely or never still has a sensible vector.
///
/// Shopper side, over packed histories (oldest first):
/// - sequential: SASRec-style pre-LN transformer: x = R[item]·√d + P[position from the end],
///   `blocks` × (causal multi-head attention, feed-forward with GELU), final layer norm;
/// - two-tower: pooled R[item] (mean, recency-weighted or one attention layer), then a
///   residual MLP and a layer norm.
/// The hidden state at each position predicts the next product by dot product with R.
final class NeuralNetwork: @unchecked Sendable {
    struct Block {
        var norm1Gamma, norm1Beta, qkvWeight, qkvBias, outWeight, outBias: Tensor
        var norm2Gamma, norm2Beta, ff1Weight, ff1Bias, ff2Weight, ff2Bias: Tensor
    }

    let config: NeuralConfiguration
    let productCount: Int
    let lmDimension: Int
    /// Frozen language-model vectors [products × lmDimension] (nil when not used).
    let lmVectors: Tensor?
    /// Every parameter with its name, in a fixed order (for saving and the optimiser).
    private(set) var parameters: [(name: String, tensor: Tensor)] = []

    let itemID: Tensor
    var lmWeight1: Tensor?, lmBias1: Tensor?, lmWeight2: Tensor?, lmBias2: Tensor?
    var position: Tensor?
    var blocks: [Block] = []
    var towerWeight1: Tensor?, towerBias1: Tensor?, towerWeight2: Tensor?, towerBias2: Tensor?
    let finalGamma: Tensor, finalBeta: Tensor

    /// - Parameter lmVectors: row-major [productCount × lmDimension], or empty to go without.
    init(config: NeuralConfiguration, productCount: Int, lmVectors: [Float], lmDimension: Int) {
        self.config = config
        self.productCount = productCount
        let useLM = config.useLanguageModel && lmDimension > 0 && lmVectors.count == productCount * lmDimension
        self.lmDimension = useLM ? lmDimension : 0
        self.lmVectors = useLM ? Tensor(rows: productCount, cols: lmDimension, values: lmVectors) : nil
        var rng = SeededGenerator(seed: config.seed)
        let d = config.dimension
        var collected: [(name: String, tensor: Tensor)] = []

        func param(_ name: String, _ rows: Int, _ cols: Int, std: Float = 0, fill: Float = 0) -> Tensor {
            let t = Tensor(rows: rows, cols: cols, requiresGrad: true)
            if std > 0 {
                for i in 0..<t.count { t.value[i] = std * Self.normal(&rng) }
            } else if fill != 0 {
                for i in 0..<t.count { t.value[i] = fill }
            }
            collected.append((name, t))
            return t
        }
        func xavier(_ rows: Int, _ cols: Int) -> Float { (2 / Float(rows + cols)).squareRoot() }

        itemID = param("item_id", productCount, d, std: useLM ? 0.02 : 1 / Float(d).squareRoot())
        if useLM {
            switch config.kind {
            case .sequential:
                lmWeight1 = param("lm_weight", lmDimension, d, std: 1 / Float(d).squareRoot())
            case .twoTower:
                lmWeight1 = param("lm_weight1", lmDimension, d, std: xavier(lmDimension, d) * 4)
                lmBias1 = param("lm_bias1", 1, d)
                lmWeight2 = param("lm_weight2", d, d, std: xavier(d, d))
                lmBias2 = param("lm_bias2", 1, d)
            }
        }
        let blockCount: Int
        switch config.kind {
        case .sequential:
            position = param("position", config.maxLength, d, std: 0.1)
            blockCount = config.blocks
        case .twoTower:
            blockCount = config.pooling == .attention ? 1 : 0
            towerWeight1 = param("tower_weight1", d, config.feedForward, std: xavier(d, config.feedForward))
            towerBias1 = param("tower_bias1", 1, config.feedForward)
            towerWeight2 = param("tower_weight2", config.feedForward, d, std: xavier(config.feedForward, d))
            towerBias2 = param("tower_bias2", 1, d)
        }
        var builtBlocks: [Block] = []
        for b in 0..<blockCount {
            let f = config.feedForward
            builtBlocks.append(Block(
                norm1Gamma: param("b\(b).norm1_gamma", 1, d, fill: 1), norm1Beta: param("b\(b).norm1_beta", 1, d),
                qkvWeight: param("b\(b).qkv_weight", d, 3 * d, std: xavier(d, d)), qkvBias: param("b\(b).qkv_bias", 1, 3 * d),
                outWeight: param("b\(b).out_weight", d, d, std: xavier(d, d)), outBias: param("b\(b).out_bias", 1, d),
                norm2Gamma: param("b\(b).norm2_gamma", 1, d, fill: 1), norm2Beta: param("b\(b).norm2_beta", 1, d),
                ff1Weight: param("b\(b).ff1_weight", d, f, std: xavier(d, f)), ff1Bias: param("b\(b).ff1_bias", 1, f),
                ff2Weight: param("b\(b).ff2_weight", f, d, std: xavier(f, d)), ff2Bias: param("b\(b).ff2_bias", 1, d)))
        }
        blocks = builtBlocks
        finalGamma = param("final_gamma", 1, d, fill: 1)
        finalBeta = param("final_beta", 1, d)
        parameters = collected
    }

    /// A standard normal draw (Box–Muller).
    static func normal(_ rng: inout SeededGenerator) -> Float {
        let u1 = max(Double(rng.next() >> 11) * 0x1.0p-53, 1e-300)
        let u2 = Double(rng.next() >> 11) * 0x1.0p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Parameters with their AdamW decay: the id embeddings decay toward zero (so toward the
    /// language-model part), dense weights by `weightDecay`, norms and biases not at all.
    func optimizerParameters() -> [AdamW.Parameter] {
        parameters.map { name, tensor in
            if name == "item_id" { return AdamW.Parameter(tensor, weightDecay: config.idWeightDecay) }
            let isWeight = name.hasSuffix("weight") || name.hasSuffix("weight1") || name.hasSuffix("weight2") || name == "position"
            return AdamW.Parameter(tensor, weightDecay: isWeight ? config.weightDecay : 0)
        }
    }

    /// R [products × d]: id embedding plus the language-model part.
    func productTable(_ tape: Tape) -> Tensor {
        guard let lmVectors, let part = languageModelPart(tape, lmVectors) else { return itemID }
        return tape.add(itemID, part)
    }

    /// f(v) for language-model vectors [n × lmDimension]; nil when the model does not use them.
    func languageModelPart(_ tape: Tape, _ vectors: Tensor) -> Tensor? {
        guard let lmWeight1 else { return nil }
        switch config.kind {
        case .sequential:
            return tape.matmul(vectors, lmWeight1)
        case .twoTower:
            let hidden = tape.gelu(tape.linear(vectors, lmWeight1, lmBias1))
            return tape.linear(hidden, lmWeight2!, lmBias2)
        }
    }

    /// Hidden states [tokens × d] of packed histories; row t predicts the product after token t.
    func encode<G: RandomNumberGenerator>(_ tape: Tape, table: Tensor, batch: PackedSequences, rng: inout G) -> Tensor {
        let d = config.dimension
        var x = tape.gather(table, batch.items)
        switch config.kind {
        case .sequential:
            x = tape.scale(x, Float(d).squareRoot())
            x = tape.add(x, tape.gather(position!, batch.positions))
            x = tape.dropout(x, p: config.dropout, using: &rng)
            for block in blocks { x = self.block(tape, block, x, offsets: batch.offsets, heads: config.heads, rng: &rng) }
        case .twoTower:
            x = tape.dropout(x, p: config.dropout, using: &rng)
            switch config.pooling {
            case .mean: x = tape.causalDecayedMean(x, offsets: batch.offsets, decay: 1)
            case .recency: x = tape.causalDecayedMean(x, offsets: batch.offsets, decay: config.recencyDecay)
            case .attention:
                let b = blocks[0]
                let a = tape.layerNorm(x, gamma: b.norm1Gamma, beta: b.norm1Beta)
                let attended = tape.causalSelfAttention(tape.linear(a, b.qkvWeight, b.qkvBias), offsets: batch.offsets, heads: config.heads)
                x = tape.add(x, tape.linear(attended, b.outWeight, b.outBias))
            }
            var h = tape.gelu(tape.linear(x, towerWeight1!, towerBias1))
            h = tape.dropout(h, p: config.dropout, using: &rng)
            x = tape.add(x, tape.linear(h, towerWeight2!, towerBias2))
        }
        return tape.layerNorm(x, gamma: finalGamma, beta: finalBeta)
    }

    private func block<G: RandomNumberGenerator>(_ tape: Tape, _ b: Block, _ input: Tensor, offsets: [Int], heads: Int, rng: inout G) -> Tensor {
        var x = input
        let a = tape.layerNorm(x, gamma: b.norm1Gamma, beta: b.norm1Beta)
        let attended = tape.causalSelfAttention(tape.linear(a, b.qkvWeight, b.qkvBias), offsets: offsets, heads: heads)
        x = tape.add(x, tape.dropout(tape.linear(attended, b.outWeight, b.outBias), p: config.dropout, using: &rng))
        let f = tape.layerNorm(x, gamma: b.norm2Gamma, beta: b.norm2Beta)
        var h = tape.gelu(tape.linear(f, b.ff1Weight, b.ff1Bias))
        h = tape.dropout(h, p: config.dropout, using: &rng)
        x = tape.add(x, tape.dropout(tape.linear(h, b.ff2Weight, b.ff2Bias), p: config.dropout, using: &rng))
        return x
    }

    /// Copies of every parameter's values (for keeping the best epoch).
    func snapshot() -> [[Float]] { parameters.map { $0.tensor.values } }

    func restore(_ snapshot: [[Float]]) {
        for (p, values) in zip(parameters, snapshot) { p.tensor.setValues(values) }
    }
}

/// Several histories back to back: sequence s is `offsets[s]..<offsets[s + 1]`.
struct PackedSequences {
    var items: [Int32] = []
    /// Position counted from the sequence's newest token (0 = newest), as SASRec's left padding does.
    var positions: [Int32] = []
    /// The product after each token (training only).
    var targets: [Int32] = []
    var offsets: [Int] = [0]

    init() {}

    mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
    }

    /// Appends one sequence of inputs (and optionally the target after each one).
    mutating func append(_ inputs: UnsafeBufferPointer<Int32>, targets next: UnsafeBufferPointer<Int32>?) {
        let n = inputs.count
        for (i, p) in inputs.enumerated() {
            items.append(p)
            positions.append(Int32(n - 1 - i))
        }
        if let next { targets.append(contentsOf: next) }
        offsets.append(items.count)
    }
}
