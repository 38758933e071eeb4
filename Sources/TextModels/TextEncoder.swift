import Foundation

/// A language model that turns text into unit-length vectors: what the rest of Curator uses,
/// whichever model is behind it (all-MiniLM-L6-v2 for English, multilingual-e5-small for Chinese
/// and mixed catalogues).
public protocol TextEncoder: AnyObject, Sendable {
    /// The model's name ("all-MiniLM-L6-v2", "multilingual-e5-small").
    var name: String { get }
    /// Name plus a digest of the model file's content: cached vectors are keyed by it.
    var modelID: String { get }
    /// Length of each vector.
    var dimension: Int { get }
    /// Cores one call uses.
    var threads: Int { get }
    /// The token id that stands for text the vocabulary cannot represent.
    var unknownTokenID: Int32 { get }
    /// The ids the model reads for `text` (special tokens included).
    func inputIDs(_ text: String, role: TextRole) -> [Int32]
    /// One unit-length vector per text, in input order.
    func encodeMatrix(_ texts: [String], role: TextRole) -> EmbeddingMatrix
}

extension TextEncoder {
    /// Share of the content tokens of `texts` that are the unknown token: a model that cannot
    /// read the catalogue's script shows it here (all-MiniLM on Chinese text).
    public func unknownTokenShare(_ texts: some Sequence<String>) -> Double {
        var unknown = 0, total = 0
        for text in texts {
            let ids = inputIDs(text, role: .passage)
            total += max(0, ids.count - 2)
            unknown += ids.dropFirst().dropLast().filter { $0 == unknownTokenID }.count
        }
        return total == 0 ? 0 : Double(unknown) / Double(total)
    }
}

extension SentenceEncoder: TextEncoder {
    public var name: String { files.directory.standardizedFileURL.lastPathComponent }
    public var threads: Int { options.threads }
    public var unknownTokenID: Int32 { tokenizer.unknownID }
    /// all-MiniLM was not trained with role prefixes: both roles read the text as it is.
    public func inputIDs(_ text: String, role: TextRole) -> [Int32] { tokenize(text) }
    public func encodeMatrix(_ texts: [String], role: TextRole) -> EmbeddingMatrix { encodeMatrix(texts) }
}

extension E5Encoder: TextEncoder {
    public var name: String { Self.name }
    public var threads: Int { options.threads }
    public var unknownTokenID: Int32 { tokenizer.unkID }
}

/// Finds and loads the model a `--language-model` value names.
public enum TextEncoders {
    /// Models Curator knows by name, and the folder each is fetched into.
    public static let known: [(name: String, folder: String)] = [
        ("all-MiniLM-L6-v2", "models/all-MiniLM-L6-v2"),
        (E5Encoder.name, "models/\(E5Encoder.name)"),
    ]
    /// Used when neither `--language-model` nor `CURATOR_MODEL` is given.
    public static let defaultModel = "all-MiniLM-L6-v2"

    /// The path a `--language-model` value stands for: an existing file or folder as given, a known model
    /// name as its folder under `models/`, and nothing as `$CURATOR_MODEL` or the default model.
    public static func resolve(_ model: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let value = [model, environment[ModelFiles.environmentVariable]].compactMap { $0 }.first { !$0.isEmpty } ?? defaultModel
        if FileManager.default.fileExists(atPath: value) { return value }
        if let entry = known.first(where: { $0.name.caseInsensitiveCompare(value) == .orderedSame }) { return entry.folder }
        return value
    }

    /// Whether `path` holds multilingual-e5 (its .bin file, or a folder with it) rather than a
    /// Hugging Face BERT folder.
    public static func isE5(_ path: String) -> Bool {
        if path.hasSuffix(".bin") { return true }
        if (path as NSString).lastPathComponent == E5Encoder.name { return true }
        return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(E5Encoder.fileName))
    }

    /// Loads the model `model` names (see `resolve`).
    /// `load` with a batch size, a thread count (nil: every core) and a way of parallelising: what
    /// `curator encode` and the encoder benchmark ask for.
    public static func load(_ model: String?, batch: Int, threads: Int?, parallelism: SentenceEncoder.Parallelism) throws(TextModelError) -> any TextEncoder {
        try load(model, options: SentenceEncoder.Options(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, batchSize: batch,
                                                         parallelism: parallelism))
    }

    public static func load(_ model: String?, options: SentenceEncoder.Options = .init()) throws(TextModelError) -> any TextEncoder {
        let path = resolve(model)
        if isE5(path) { return try E5Encoder(path: path, options: options) }
        return try SentenceEncoder(modelDirectory: URL(fileURLWithPath: path), options: options)
    }
}
