import Foundation
import Linear

/// Sentence embeddings from a BERT-family sentence-transformers model (all-MiniLM-L6-v2 by
/// default), computed natively: WordPiece tokenizer, BERT encoder, pooling and normalisation as
/// the model folder says. Vectors match sentence-transformers to a cosine of 0.9999+ and the
/// token ids match the Hugging Face fast tokenizer exactly (tests check both against
/// ../shared/reference/minilm/reference.jsonl).
///
/// Speed: texts are sorted by length and packed without padding; matrix products use weights
/// packed once at load (`PackedMatrix`, AVX2+FMA, falling back to OpenBLAS elsewhere): measured
/// on a 2-core AMD EPYC at 1.1–2.5× OpenBLAS's sgemm speed for 1 to 450 rows, so a single short
/// text encodes in about half the time.
///
/// Thread safety: `encode` may be called from any thread; calls are serialised internally because
/// each call already uses every core it is given (`Options.threads`), and serialising lets the
/// encoder reuse one set of scratch buffers instead of allocating per call.
public final class SentenceEncoder: Sendable {
    /// How a call spreads work over several cores.
    public enum Parallelism: String, Sendable, CaseIterable {
        /// Batches (or parts of a batch) run side by side, one thread each, so every step —
        /// products, attention, GELU, LayerNorm — runs in parallel with no synchronisation
        /// inside a batch. The faster choice for many texts (measured: see `scripts/bench encode`).
        /// A call with a single text still uses `.splitColumns`.
        case splitBatches = "batches"
        /// One batch at a time; each matrix product is split by output columns across the
        /// threads (a fork-join per product). Used for a single text, where there is nothing
        /// else to split.
        case splitColumns = "columns"
    }

    public struct Options: Sendable {
        /// Cores to use. Default: all of this machine's.
        public var threads: Int
        /// Texts per forward pass. Texts are sorted by length first, so a batch holds texts of
        /// similar length; larger batches make larger, more efficient matrix products.
        public var batchSize: Int
        public var parallelism: Parallelism

        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, batchSize: Int = 32, parallelism: Parallelism = .splitBatches) {
            self.threads = max(1, threads)
            self.batchSize = max(1, batchSize)
            self.parallelism = parallelism
        }
    }

    public let files: ModelFiles
    public let tokenizer: WordPieceTokenizer
    public var options: Options { runner.options }
    /// Stable identifier of the model and its settings, for caching embeddings.
    public let modelID: String
    let runner: SequenceRunner
    var model: BertModel { runner.model }

    /// Length of each embedding vector (384 for all-MiniLM-L6-v2).
    public var dimension: Int { model.outputDimension }
    /// Longest input in tokens, [CLS]/[SEP] included; longer texts are truncated.
    public var maxSequenceLength: Int { tokenizer.maxLength }

    /// Loads the model in `modelDirectory` (see `ModelFiles.resolveDirectory` for the defaults).
    /// Throws `TextModelError` naming the missing or damaged file and the fetch command.
    public init(modelDirectory: URL, options: Options = Options()) throws(TextModelError) {
        if !PackedMatrix.isAvailable {
            // Without AVX2 the products go through OpenBLAS; fail now, not at the first product.
            do {
                try BLAS.load()
            } catch {
                throw .libraryMissing("\(error)")
            }
        }
        let files = try ModelFiles(directory: modelDirectory)
        self.files = files
        tokenizer = try WordPieceTokenizer(
            vocabularyFile: files.vocabPath, config: files.tokenizer, maxLength: files.maxSequenceLength,
            addedTokens: files.addedTokens.isEmpty ? nil : files.addedTokens)
        if tokenizer.vocabularySize != files.config.vocabSize {
            throw .invalidFile(path: files.vocabPath, reason: "it has \(tokenizer.vocabularySize) tokens but config.json says vocab_size \(files.config.vocabSize)")
        }
        runner = SequenceRunner(model: try BertModel(files: files), options: options)
        modelID = try files.modelID()
    }

    /// Convenience: `--language-model` value or nil → `ModelFiles.resolveDirectory`.
    public convenience init(modelPath: String? = nil, options: Options = Options()) throws(TextModelError) {
        try self.init(modelDirectory: ModelFiles.resolveDirectory(explicit: modelPath), options: options)
    }

    /// Token ids for `text` as the model sees them: [CLS], pieces (truncated), [SEP].
    public func tokenize(_ text: String) -> [Int32] { tokenizer.encode(text) }

    /// One embedding per text, in input order.
    public func encode(_ texts: [String]) -> [[Float]] {
        let matrix = encodeMatrix(texts)
        return (0..<matrix.count).map { Array(matrix[$0]) }
    }

    /// One embedding per text, in input order, as one row-major matrix.
    public func encodeMatrix(_ texts: [String]) -> EmbeddingMatrix {
        encode(tokenized: texts.map(tokenizer.encode))
    }

    /// Embeddings of already tokenized texts (from `tokenize`), in input order.
    /// Sequences longer than `maxSequenceLength` are truncated, keeping the final [SEP].
    public func encode(tokenized input: [[Int32]]) -> EmbeddingMatrix {
        let maxLength = maxSequenceLength
        let vocab = Int32(model.config.vocabSize)
        let sequences: [[Int32]] = input.map { ids in
            var s = ids.isEmpty ? [tokenizer.clsID, tokenizer.sepID] : ids
            if s.count > maxLength { s = Array(s.prefix(maxLength - 1)) + [s[s.count - 1]] }
            // An id outside the vocabulary would read outside the embedding table.
            for i in s.indices where s[i] < 0 || s[i] >= vocab { s[i] = tokenizer.unknownID }
            return s
        }
        return EmbeddingMatrix(count: input.count, dimension: dimension, values: runner.run(sequences))
    }
}

/// Runs token sequences through a `BertModel` in length-sorted batches on several cores and
/// returns one pooled vector per sequence; shared by every encoder.
final class SequenceRunner: Sendable {
    /// Most tokens in one forward pass: activations take ≈ 14 KB per token for a 384-wide model
    /// and each worker thread has its own, so 1,024 tokens keep them near 28 MB on 2 cores, while
    /// products of 1,024 rows already run at full speed.
    static let maxBatchTokens = 1024
    let model: BertModel
    let options: SentenceEncoder.Options
    private let scratch: ScratchPool

    init(model: BertModel, options: SentenceEncoder.Options) {
        self.model = model
        self.options = options
        scratch = ScratchPool(hiddenSize: model.config.hiddenSize, intermediateSize: model.config.intermediateSize)
    }

    /// Pooled vectors of `sequences` (each non-empty, ≤ the model's positions), row i for
    /// sequence i, as one row-major array.
    func run(_ sequences: [[Int32]]) -> [Float] {
        let dim = model.outputDimension
        var values = [Float](repeating: 0, count: sequences.count * dim)
        if sequences.isEmpty { return values }
        // Longest first, as sentence-transformers does; similar lengths share a batch.
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        // A batch closes at `batchSize` sequences or `maxBatchTokens` tokens, whichever comes
        // first, so 32 long windows (16k tokens) do not need 200 MB of activations at once.
        var units: [[Int]] = []
        var current: [Int] = []
        var tokens = 0
        for index in order {
            let length = sequences[index].count
            if !current.isEmpty && (current.count == options.batchSize || tokens + length > Self.maxBatchTokens) {
                units.append(current)
                current = []
                tokens = 0
            }
            current.append(index)
            tokens += length
        }
        if !current.isEmpty { units.append(current) }
        let threads = options.threads
        let split = options.parallelism == .splitBatches && threads > 1 && sequences.count > 1
        if split && units.count < threads {
            units = Self.splitForThreads(units, threads: threads, lengths: sequences.map(\.count))
        }
        let workers = split ? min(threads, units.count) : 1
        if !PackedMatrix.isAvailable {
            // Products go through OpenBLAS, called from our own threads: it must not start
            // threads of its own as well (2 cores × 2 threads each only adds contention).
            BLAS.threads = 1
        }
        let batches = units
        let model = self.model
        scratch.withWorkspaces(count: workers) { workspaces in
            values.withUnsafeMutableBufferPointer { out in
                let output = SendablePointer(out.baseAddress!)
                let run: @Sendable (Int, BertWorkspace, Int) -> Void = { u, ws, columnThreads in
                    let unit = batches[u]
                    let pooled = FloatBuffer(count: unit.count * dim)
                    model.forward(unit.map { sequences[$0] }, workspace: ws, output: pooled.base, threads: columnThreads)
                    for (row, index) in unit.enumerated() {
                        (output.pointer + index * dim).update(from: pooled.base + row * dim, count: dim)
                    }
                }
                if workers <= 1 {
                    for u in batches.indices { run(u, workspaces[0], threads) }
                } else {
                    let next = Counter()
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        while let u = next.take(below: batches.count) { run(u, workspaces[w], 1) }
                    }
                }
            }
        }
        return values
    }

    /// Splits batches into at least `threads` parts of about equal token count, so one short
    /// call (a single batch) still uses every core.
    static func splitForThreads(_ units: [[Int]], threads: Int, lengths: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        let partsPerUnit = (threads + units.count - 1) / units.count
        for unit in units {
            let parts = min(partsPerUnit, unit.count)
            if parts <= 1 { result.append(unit); continue }
            // Deal sequences (longest first) to the part with the fewest tokens so far.
            var buckets = [[Int]](repeating: [], count: parts)
            var tokens = [Int](repeating: 0, count: parts)
            for index in unit {
                let target = tokens.indices.min { tokens[$0] < tokens[$1] }!
                buckets[target].append(index)
                tokens[target] += lengths[index]
            }
            result.append(contentsOf: buckets.filter { !$0.isEmpty })
        }
        return result
    }
}

/// Embeddings as one row-major matrix: row i is the vector of text i.
public struct EmbeddingMatrix: Sendable, Equatable {
    public let count: Int
    public let dimension: Int
    public let values: [Float]

    public init(count: Int, dimension: Int, values: [Float]) {
        precondition(values.count == count * dimension, "EmbeddingMatrix: values.count must be count × dimension")
        self.count = count
        self.dimension = dimension
        self.values = values
    }

    public subscript(row: Int) -> ArraySlice<Float> {
        values[(row * dimension)..<((row + 1) * dimension)]
    }
}

/// Reusable per-thread scratch, handed out under a lock (so concurrent `encode` calls queue).
final class ScratchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var workspaces: [BertWorkspace] = []
    private let hiddenSize: Int
    private let intermediateSize: Int

    init(hiddenSize: Int, intermediateSize: Int) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
    }

    func withWorkspaces<R>(count: Int, _ body: ([BertWorkspace]) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        while workspaces.count < count {
            workspaces.append(BertWorkspace(hiddenSize: hiddenSize, intermediateSize: intermediateSize))
        }
        return body(Array(workspaces.prefix(count)))
    }
}

/// A work counter shared by the worker threads of one call.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// A pointer handed to worker threads that write disjoint rows.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
