import Foundation
import Linear

#if canImport(Glibc)
import Glibc
#endif

/// A weight matrix the encoder multiplies activations by: fp32 packed panels (`PackedMatrix`,
/// all-MiniLM) or 4-bit blocks (`Q4Matrix`, multilingual-e5). The forward pass is the same.
protocol EncoderMatrix: Sendable {
    func columnSplit(parts: Int) -> [Range<Int>]
    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int, outputColumns: Range<Int>?)
}

extension PackedMatrix: EncoderMatrix {}
extension Q4Matrix: EncoderMatrix {}

/// The token-embedding table: dense fp32 rows, or Q4_0 rows read from the model file on lookup
/// (e5's table is 250,037 × 384: 54 MB as Q4_0, 384 MB as fp32).
enum TokenEmbeddings: Sendable {
    case dense(FloatBuffer)
    case q4(Q4RowFile)

    /// Writes row `id` (`width` floats) to `destination`.
    func write(row id: Int32, width: Int, to destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .dense(let table):
            destination.update(from: table.base + Int(id) * width, count: width)
        case .q4(let rows):
            rows.dequantize(row: Int(id), width: width, into: destination)
        }
    }
}

/// Q4_0 rows of a table inside a file, read with `pread` one row at a time.
///
/// Why not through the memory map: a token touches one 216-byte row, but a page fault on a
/// mapped file maps the 64 KB around it, so after a few hundred texts most of the 54 MB table
/// counted as this process's memory. Reading rows leaves them in the page cache only.
final class Q4RowFile: Sendable {
    let path: String
    private let descriptor: Int32
    private let offset: Int
    let rowBytes: Int

    init(path: String, offset: Int, rowBytes: Int) throws(TextModelError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        self.path = path
        self.descriptor = descriptor
        self.offset = offset
        self.rowBytes = rowBytes
    }

    deinit { close(descriptor) }

    func dequantize(row: Int, width: Int, into destination: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(byteCount: rowBytes, alignment: 16) { buffer in
            var done = 0
            while done < rowBytes {
                let n = pread(descriptor, buffer.baseAddress! + done, rowBytes - done, off_t(offset + row * rowBytes + done))
                if n <= 0 {
                    // The file shrank under a running model (it was checked whole at load): zeros
                    // rather than garbage; the next load reports the damage.
                    if n < 0 && errno == EINTR { continue }
                    destination.update(repeating: 0, count: width)
                    return
                }
                done += n
            }
            Q4Matrix.dequantizeRow(UnsafeRawPointer(buffer.baseAddress!), columns: width, into: destination)
        }
    }
}

/// The weights of one transformer layer. Q, K and V are stacked into one (3H × H) matrix so a
/// single product computes all three.
struct BertLayerWeights: Sendable {
    let qkv: any EncoderMatrix  // [3H, H], rows: Q then K then V outputs
    let qkvBias: FloatBuffer  // [3H]
    let attentionOut: any EncoderMatrix  // [H, H]
    let attentionOutBias: FloatBuffer
    let attentionNormGamma: FloatBuffer
    let attentionNormBeta: FloatBuffer
    let intermediate: any EncoderMatrix  // [I, H]
    let intermediateBias: FloatBuffer
    let output: any EncoderMatrix  // [H, I]
    let outputBias: FloatBuffer
    let outputNormGamma: FloatBuffer
    let outputNormBeta: FloatBuffer
}

/// Scratch memory for one forward pass, grown on demand and reused across batches so the hot
/// path never allocates. One workspace is used by one thread at a time.
final class BertWorkspace: @unchecked Sendable {
    private(set) var tokenCapacity = 0
    private(set) var lengthCapacity = 0
    var hidden: UnsafeMutablePointer<Float>  // [T, H]
    var qkv: UnsafeMutablePointer<Float>  // [T, 3H]
    var context: UnsafeMutablePointer<Float>  // [T, H]
    var intermediate: UnsafeMutablePointer<Float>  // [T, I]
    /// Attention scratch (transposed keys and one row of scores), one slice per thread.
    var scores: UnsafeMutablePointer<Float>
    private var scratchStride = 0
    let hiddenSize: Int
    let intermediateSize: Int

    init(hiddenSize: Int, intermediateSize: Int) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        hidden = .allocate(capacity: 1)
        qkv = .allocate(capacity: 1)
        context = .allocate(capacity: 1)
        intermediate = .allocate(capacity: 1)
        scores = .allocate(capacity: 1)
    }

    deinit {
        hidden.deallocate(); qkv.deallocate(); context.deallocate(); intermediate.deallocate(); scores.deallocate()
    }

    func reserve(tokens: Int, longest: Int, threads: Int) {
        if tokens > tokenCapacity {
            let t = max(tokens, tokenCapacity * 3 / 2)
            hidden.deallocate(); qkv.deallocate(); context.deallocate(); intermediate.deallocate()
            hidden = .allocate(capacity: t * hiddenSize)
            qkv = .allocate(capacity: t * hiddenSize * 3)
            context = .allocate(capacity: t * hiddenSize)
            intermediate = .allocate(capacity: t * intermediateSize)
            tokenCapacity = t
        }
        if longest > lengthCapacity || threads > scratchThreads {
            lengthCapacity = max(longest, lengthCapacity)
            scratchThreads = max(threads, scratchThreads)
            scores.deallocate()
            // Head size ≤ hidden size, so this bound holds for any head count.
            scratchStride = Kernels.attentionScratchSize(length: lengthCapacity, headSize: hiddenSize)
            scores = .allocate(capacity: scratchStride * scratchThreads)
        }
    }

    private var scratchThreads = 1

    /// Attention scratch of thread `part`.
    func attentionScratch(_ part: Int) -> UnsafeMutablePointer<Float> { scores + part * scratchStride }
}

/// Runs closures over parts of a range on up to `threads` threads and waits for all of them;
/// with one thread (or one part) it just calls the closure inline.
struct ParallelRegion {
    let threads: Int

    func run<Part>(_ parts: [Part], _ body: (Part, Int) -> Void) {
        if parts.count <= 1 || threads <= 1 {
            for (i, p) in parts.enumerated() { body(p, i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            let partsBox = UncheckedBox(parts)
            DispatchQueue.concurrentPerform(iterations: parts.count) { i in
                box.value(partsBox.value[i], i)
            }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; safe here because every iteration
/// only reads it and writes disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A BERT encoder (embeddings + N post-LayerNorm transformer layers) with sentence pooling.
///
/// Sequences are packed back to back without padding: every step except attention works on
/// tokens independently, so a batch is one tall (tokens × hidden) matrix and no work is spent on
/// padding; attention runs per (sequence, head) on its own rows, so no mask is needed either.
final class BertModel: Sendable {
    let config: BertConfig
    let pooling: PoolingConfig
    let normalize: Bool
    let wordEmbeddings: TokenEmbeddings  // [V, H]
    /// Position embeddings with token-type 0 already added, [P, H].
    let positionTypeEmbeddings: FloatBuffer
    let embeddingNormGamma: FloatBuffer
    let embeddingNormBeta: FloatBuffer
    let layers: [BertLayerWeights]

    var outputDimension: Int { config.hiddenSize * pooling.modeCount }

    /// Splits 0..<count into up to `parts` contiguous ranges.
    static func split(_ count: Int, parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, count))
        return (0..<parts).map { p in (count * p / parts)..<(count * (p + 1) / parts) }
    }

    init(
        config: BertConfig, pooling: PoolingConfig, normalize: Bool, wordEmbeddings: TokenEmbeddings,
        positionTypeEmbeddings: FloatBuffer, embeddingNormGamma: FloatBuffer, embeddingNormBeta: FloatBuffer,
        layers: [BertLayerWeights]
    ) {
        self.config = config
        self.pooling = pooling
        self.normalize = normalize
        self.wordEmbeddings = wordEmbeddings
        self.positionTypeEmbeddings = positionTypeEmbeddings
        self.embeddingNormGamma = embeddingNormGamma
        self.embeddingNormBeta = embeddingNormBeta
        self.layers = layers
    }

    /// Loads a Hugging Face BERT checkpoint (safetensors, fp32/fp16/bf16) with packed fp32 weights.
    convenience init(files: ModelFiles) throws(TextModelError) {
        let st = try SafetensorsFile(path: files.weightsPath)
        let c = files.config
        let h = c.hiddenSize, inter = c.intermediateSize
        // Checkpoints saved from BertForX carry a "bert." prefix; sentence-transformers' do not.
        let prefix = st.tensors["embeddings.word_embeddings.weight"] != nil ? "" : (st.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : "")
        func t(_ name: String, _ shape: [Int]) throws(TextModelError) -> FloatBuffer {
            try st.floats(prefix + name, shape: shape)
        }
        let words = try t("embeddings.word_embeddings.weight", [c.vocabSize, h])
        let positions = try t("embeddings.position_embeddings.weight", [c.maxPositions, h])
        let types = try t("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h])
        for i in 0..<(c.maxPositions * h) { positions.base[i] += types.base[i % h] }
        var layers: [BertLayerWeights] = []
        for l in 0..<c.layerCount {
            let p = "encoder.layer.\(l)."
            let qkvW = FloatBuffer(count: 3 * h * h)
            let qkvB = FloatBuffer(count: 3 * h)
            for (i, part) in ["query", "key", "value"].enumerated() {
                let w = try t(p + "attention.self.\(part).weight", [h, h])
                let b = try t(p + "attention.self.\(part).bias", [h])
                (qkvW.base + i * h * h).update(from: w.base, count: h * h)
                (qkvB.base + i * h).update(from: b.base, count: h)
            }
            func packed(_ name: String, _ rows: Int, _ columns: Int) throws(TextModelError) -> PackedMatrix {
                let w = try t(name, [rows, columns])
                return PackedMatrix(weights: w.pointer, rows: rows, columns: columns)
            }
            layers.append(
                BertLayerWeights(
                    qkv: PackedMatrix(weights: qkvW.pointer, rows: 3 * h, columns: h), qkvBias: qkvB,
                    attentionOut: try packed(p + "attention.output.dense.weight", h, h),
                    attentionOutBias: try t(p + "attention.output.dense.bias", [h]),
                    attentionNormGamma: try t(p + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBeta: try t(p + "attention.output.LayerNorm.bias", [h]),
                    intermediate: try packed(p + "intermediate.dense.weight", inter, h),
                    intermediateBias: try t(p + "intermediate.dense.bias", [inter]),
                    output: try packed(p + "output.dense.weight", h, inter),
                    outputBias: try t(p + "output.dense.bias", [h]),
                    outputNormGamma: try t(p + "output.LayerNorm.weight", [h]),
                    outputNormBeta: try t(p + "output.LayerNorm.bias", [h])))
        }
        self.init(
            config: c, pooling: files.pooling, normalize: files.normalize, wordEmbeddings: .dense(words),
            positionTypeEmbeddings: positions, embeddingNormGamma: try t("embeddings.LayerNorm.weight", [h]),
            embeddingNormBeta: try t("embeddings.LayerNorm.bias", [h]), layers: layers)
    }

    /// Runs `sequences` (token ids, each ≤ maxPositions long, non-empty) through the encoder and
    /// writes one pooled (and, if configured, unit-length) vector per sequence to `output`,
    /// row i at `output + i * outputDimension`.
    ///
    /// `threads` > 1 splits every matrix product by output columns across that many threads
    /// (and attention by sequence): the way to use several cores on a single short text.
    func forward(_ sequences: [[Int32]], workspace ws: BertWorkspace, output: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let h = config.hiddenSize, h3 = 3 * h, inter = config.intermediateSize
        let heads = config.headCount, dh = h / heads
        var total = 0
        var longest = 0
        for s in sequences { total += s.count; longest = max(longest, s.count) }
        if total == 0 { return }
        ws.reserve(tokens: total, longest: longest, threads: threads)
        let x = ws.hidden, qkv = ws.qkv, ctx = ws.context, mid = ws.intermediate

        // Embeddings: word + (position + type 0), then LayerNorm.
        var row = 0
        for s in sequences {
            for (p, id) in s.enumerated() {
                let dst = x + (row + p) * h
                wordEmbeddings.write(row: id, width: h, to: dst)
                let pos = positionTypeEmbeddings.base + p * h
                for j in 0..<h { dst[j] += pos[j] }
            }
            row += s.count
        }
        Kernels.layerNorm(x, rows: total, n: h, residual: nil, bias: nil, gamma: embeddingNormGamma.pointer, beta: embeddingNormBeta.pointer, eps: config.layerNormEps)

        var starts: [Int] = []
        var start = 0
        for s in sequences { starts.append(start); start += s.count }
        let scale = 1 / Float(dh).squareRoot()
        let pool = ParallelRegion(threads: threads)
        for layer in layers {
            // Q, K, V for every token in one product: [T, H] · [3H, H]ᵀ + b.
            pool.run(layer.qkv.columnSplit(parts: threads)) { cols, _ in
                layer.qkv.multiply(m: total, a: x, lda: h, bias: layer.qkvBias.pointer, c: qkv, ldc: h3, outputColumns: cols)
            }
            // Attention per sequence (all heads), on that sequence's rows only.
            pool.run(Self.split(sequences.count, parts: threads)) { range, part in
                for i in range {
                    Kernels.attention(
                        qkv: qkv + starts[i] * h3, qkvStride: h3, length: sequences[i].count, heads: heads, headSize: dh, scale: scale,
                        output: ctx + starts[i] * h, outputStride: h, scratch: ws.attentionScratch(part))
                }
            }
            // Output projection (into `mid`, free until the feed-forward), residual, LayerNorm.
            pool.run(layer.attentionOut.columnSplit(parts: threads)) { cols, _ in
                layer.attentionOut.multiply(m: total, a: ctx, lda: h, bias: layer.attentionOutBias.pointer, c: mid, ldc: h, outputColumns: cols)
            }
            Kernels.layerNorm(x, rows: total, n: h, residual: mid, bias: nil, gamma: layer.attentionNormGamma.pointer, beta: layer.attentionNormBeta.pointer,
                              eps: config.layerNormEps)

            // Feed-forward: GELU(x·W1ᵀ + b1)·W2ᵀ + b2, residual, LayerNorm.
            pool.run(layer.intermediate.columnSplit(parts: threads)) { cols, _ in
                layer.intermediate.multiply(m: total, a: x, lda: h, bias: nil, c: mid, ldc: inter, outputColumns: cols)
                for r in 0..<total {
                    Kernels.biasGELU(mid + r * inter + cols.lowerBound, rows: 1, n: cols.count, bias: layer.intermediateBias.pointer + cols.lowerBound)
                }
            }
            pool.run(layer.output.columnSplit(parts: threads)) { cols, _ in
                layer.output.multiply(m: total, a: mid, lda: inter, bias: layer.outputBias.pointer, c: ctx, ldc: h, outputColumns: cols)
            }
            Kernels.layerNorm(x, rows: total, n: h, residual: ctx, bias: nil, gamma: layer.outputNormGamma.pointer, beta: layer.outputNormBeta.pointer, eps: config.layerNormEps)
        }

        // Pooling (sentence-transformers order: CLS, max, mean, mean·√len), then L2 norm.
        let dim = outputDimension
        start = 0
        for (i, s) in sequences.enumerated() {
            let len = s.count
            let out = output + i * dim
            var offset = 0
            let rows = x + start * h
            if pooling.clsToken {
                (out + offset).update(from: rows, count: h)
                offset += h
            }
            if pooling.maxTokens {
                let o = out + offset
                o.update(from: rows, count: h)
                for r in 1..<max(len, 1) { for j in 0..<h { o[j] = max(o[j], rows[r * h + j]) } }
                offset += h
            }
            if pooling.meanTokens || pooling.meanSqrtLenTokens {
                let o = out + offset
                o.update(repeating: 0, count: h)
                for r in 0..<len { for j in 0..<h { o[j] += rows[r * h + j] } }
                if pooling.meanTokens {
                    let inv = 1 / Float(len)
                    for j in 0..<h { o[j] *= inv }
                    offset += h
                }
                if pooling.meanSqrtLenTokens {
                    let o2 = out + offset
                    let inv = 1 / Float(len).squareRoot()
                    if pooling.meanTokens {
                        // o holds the mean; recover the sum.
                        for j in 0..<h { o2[j] = o[j] * Float(len) * inv }
                    } else {
                        for j in 0..<h { o2[j] = o[j] * inv }
                    }
                    offset += h
                }
            }
            if normalize {
                var norm: Float = 0
                for j in 0..<dim { norm += out[j] * out[j] }
                // As torch.nn.functional.normalize: divide by max(‖v‖, 1e-12).
                let inv = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<dim { out[j] *= inv }
            }
            start += len
        }
    }
}
