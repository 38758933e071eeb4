import Foundation

/// How sentence-transformers turns token vectors into one sentence vector (1_Pooling/config.json).
public struct PoolingConfig: Sendable, Equatable {
    public var clsToken = false
    public var meanTokens = true
    public var maxTokens = false
    public var meanSqrtLenTokens = false

    public init(clsToken: Bool = false, meanTokens: Bool = true, maxTokens: Bool = false, meanSqrtLenTokens: Bool = false) {
        self.clsToken = clsToken
        self.meanTokens = meanTokens
        self.maxTokens = maxTokens
        self.meanSqrtLenTokens = meanSqrtLenTokens
    }

    /// Number of pooled vectors concatenated into the output (sentence-transformers concatenates
    /// the enabled modes in the order CLS, max, mean, mean·√len).
    public var modeCount: Int { [clsToken, maxTokens, meanTokens, meanSqrtLenTokens].filter { $0 }.count }
}

/// The BERT hyper-parameters from config.json that the encoder needs.
public struct BertConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float

    public init(vocabSize: Int, hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int, maxPositions: Int, typeVocabSize: Int, layerNormEps: Float) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
    }
}

/// Tokenizer settings from tokenizer_config.json / tokenizer.json.
public struct TokenizerConfig: Sendable, Equatable {
    public var lowercase = true
    /// `nil` means "same as lowercase", as in Hugging Face.
    public var stripAccents: Bool? = nil
    public var tokenizeChineseChars = true
    public var cleanText = true
    public var unknownToken = "[UNK]"
    public var clsToken = "[CLS]"
    public var sepToken = "[SEP]"
    public var padToken = "[PAD]"
    public var maskToken = "[MASK]"
    public var continuingSubwordPrefix = "##"
    public var maxInputCharsPerWord = 100

    public init() {}

    /// Whether accents are removed: Hugging Face strips them when `strip_accents` is unset and
    /// lower-casing is on, which is the case for the uncased BERT models.
    public var effectiveStripAccents: Bool { stripAccents ?? lowercase }
}

/// A Hugging Face / sentence-transformers model folder and the settings read from it.
///
/// All file checks happen here, up front, so that a missing or half-downloaded model gives one
/// clear error naming the file and the fetch command, rather than a failure deep in the encoder.
public struct ModelFiles: Sendable {
    /// Where Curator looks when neither `--language-model` nor `CURATOR_MODEL` is given.
    public static let defaultRelativePath = "models/all-MiniLM-L6-v2"
    /// Environment variable that overrides the default model folder.
    public static let environmentVariable = "CURATOR_MODEL"

    public let directory: URL
    public let config: BertConfig
    public let tokenizer: TokenizerConfig
    public let pooling: PoolingConfig
    /// Whether modules.json ends with a Normalize module (unit-length output vectors).
    public let normalize: Bool
    /// Longest input in tokens, [CLS] and [SEP] included (sentence_bert_config.json, capped by the
    /// position table).
    public let maxSequenceLength: Int
    /// Extra added tokens (e.g. "[CLS]") matched verbatim in raw text before normalisation, with ids.
    public let addedTokens: [String: Int32]

    public var configPath: String { directory.appendingPathComponent("config.json").path }
    public var weightsPath: String { directory.appendingPathComponent("model.safetensors").path }
    public var vocabPath: String { directory.appendingPathComponent("vocab.txt").path }
    public var tokenizerJSONPath: String { directory.appendingPathComponent("tokenizer.json").path }

    /// Picks the model folder: an explicit path (`--language-model`), else `$CURATOR_MODEL`, else
    /// `models/all-MiniLM-L6-v2` relative to the current directory.
    public static func resolveDirectory(
        explicit: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        if let explicit, !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let env = environment[environmentVariable], !env.isEmpty { return URL(fileURLWithPath: env) }
        return URL(fileURLWithPath: defaultRelativePath)
    }

    /// Reads and checks the folder. Required: config.json, model.safetensors, vocab.txt.
    /// Optional (defaults match all-MiniLM-L6-v2): tokenizer_config.json, tokenizer.json,
    /// sentence_bert_config.json, 1_Pooling/config.json (mean pooling), modules.json.
    public init(directory: URL) throws(TextModelError) {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(path: directory.path)
        }
        for required in ["config.json", "model.safetensors", "vocab.txt"] {
            let path = directory.appendingPathComponent(required).path
            if !FileManager.default.fileExists(atPath: path) { throw .missingFile(path: path) }
        }

        // config.json
        let configPath = directory.appendingPathComponent("config.json").path
        let c = try Self.readJSONObject(configPath)
        func int(_ key: String, _ fallback: Int? = nil) throws(TextModelError) -> Int {
            if let n = (c[key] as? NSNumber)?.intValue, n > 0 { return n }
            if let fallback { return fallback }
            throw .invalidFile(path: configPath, reason: "\"\(key)\" is missing or not a positive integer")
        }
        if let type = c["model_type"] as? String, type != "bert" {
            throw .unsupported(path: configPath, reason: "model_type is \"\(type)\"; only \"bert\" is implemented")
        }
        if let act = c["hidden_act"] as? String, act != "gelu" {
            throw .unsupported(path: configPath, reason: "hidden_act is \"\(act)\"; only \"gelu\" (erf) is implemented")
        }
        if let pos = c["position_embedding_type"] as? String, pos != "absolute" {
            throw .unsupported(path: configPath, reason: "position_embedding_type is \"\(pos)\"; only \"absolute\" is implemented")
        }
        let config = BertConfig(
            vocabSize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
            layerCount: try int("num_hidden_layers"), headCount: try int("num_attention_heads"),
            intermediateSize: try int("intermediate_size"), maxPositions: try int("max_position_embeddings", 512),
            typeVocabSize: try int("type_vocab_size", 2),
            layerNormEps: (c["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-12)
        guard config.hiddenSize % config.headCount == 0 else {
            throw .invalidFile(path: configPath, reason: "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.headCount)")
        }
        self.config = config

        // Tokenizer settings.
        var tok = TokenizerConfig()
        let tokConfigPath = directory.appendingPathComponent("tokenizer_config.json").path
        if FileManager.default.fileExists(atPath: tokConfigPath) {
            let t = try Self.readJSONObject(tokConfigPath)
            if let v = t["do_lower_case"] as? Bool { tok.lowercase = v }
            if let v = t["strip_accents"] as? Bool { tok.stripAccents = v }
            if let v = t["tokenize_chinese_chars"] as? Bool { tok.tokenizeChineseChars = v }
            if let v = t["unk_token"] as? String { tok.unknownToken = v }
            if let v = t["cls_token"] as? String { tok.clsToken = v }
            if let v = t["sep_token"] as? String { tok.sepToken = v }
            if let v = t["pad_token"] as? String { tok.padToken = v }
            if let v = t["mask_token"] as? String { tok.maskToken = v }
        }
        var added: [String: Int32] = [:]
        let tokJSONPath = directory.appendingPathComponent("tokenizer.json").path
        if FileManager.default.fileExists(atPath: tokJSONPath) {
            // tokenizer.json is what the fast tokenizer (and so the reference) really runs;
            // where it states a setting, it wins over tokenizer_config.json.
            let t = try Self.readJSONObject(tokJSONPath)
            if let n = t["normalizer"] as? [String: Any] {
                if let type = n["type"] as? String, type != "BertNormalizer" {
                    throw .unsupported(path: tokJSONPath, reason: "normalizer is \(type); only BertNormalizer is implemented")
                }
                if let v = n["lowercase"] as? Bool { tok.lowercase = v }
                if let v = n["clean_text"] as? Bool { tok.cleanText = v }
                if let v = n["handle_chinese_chars"] as? Bool { tok.tokenizeChineseChars = v }
                if n.keys.contains("strip_accents") { tok.stripAccents = n["strip_accents"] as? Bool }
            }
            if let m = t["model"] as? [String: Any] {
                if let type = m["type"] as? String, type != "WordPiece" {
                    throw .unsupported(path: tokJSONPath, reason: "tokenizer model is \(type); only WordPiece is implemented")
                }
                if let v = m["unk_token"] as? String { tok.unknownToken = v }
                if let v = m["continuing_subword_prefix"] as? String { tok.continuingSubwordPrefix = v }
                if let v = (m["max_input_chars_per_word"] as? NSNumber)?.intValue { tok.maxInputCharsPerWord = v }
            }
            if let list = t["added_tokens"] as? [[String: Any]] {
                for entry in list {
                    if let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.int32Value,
                        (entry["normalized"] as? Bool) != true, !content.isEmpty
                    {
                        added[content] = id
                    }
                }
            }
        }
        self.tokenizer = tok
        self.addedTokens = added

        // sentence-transformers settings.
        var maxLength = min(512, config.maxPositions)
        let sbertPath = directory.appendingPathComponent("sentence_bert_config.json").path
        if FileManager.default.fileExists(atPath: sbertPath) {
            let s = try Self.readJSONObject(sbertPath)
            if let n = (s["max_seq_length"] as? NSNumber)?.intValue, n > 2 { maxLength = n }
        }
        self.maxSequenceLength = min(maxLength, config.maxPositions)

        var pooling = PoolingConfig()
        let poolingPath = directory.appendingPathComponent("1_Pooling/config.json").path
        if FileManager.default.fileExists(atPath: poolingPath) {
            let p = try Self.readJSONObject(poolingPath)
            pooling = PoolingConfig(
                clsToken: p["pooling_mode_cls_token"] as? Bool ?? false,
                meanTokens: p["pooling_mode_mean_tokens"] as? Bool ?? false,
                maxTokens: p["pooling_mode_max_tokens"] as? Bool ?? false,
                meanSqrtLenTokens: p["pooling_mode_mean_sqrt_len_tokens"] as? Bool ?? false)
            if let mode = p["pooling_mode"] as? String {
                pooling = PoolingConfig(clsToken: mode == "cls", meanTokens: mode == "mean", maxTokens: mode == "max", meanSqrtLenTokens: mode == "mean_sqrt_len_tokens")
            }
            if pooling.modeCount == 0 {
                throw .unsupported(path: poolingPath, reason: "no pooling mode Curator implements (cls, mean, max, mean_sqrt_len) is enabled")
            }
            if let dim = (p["word_embedding_dimension"] as? NSNumber)?.intValue, dim != config.hiddenSize {
                throw .invalidFile(path: poolingPath, reason: "word_embedding_dimension \(dim) differs from hidden_size \(config.hiddenSize) in config.json")
            }
        }
        self.pooling = pooling

        var normalize = false
        let modulesPath = directory.appendingPathComponent("modules.json").path
        if FileManager.default.fileExists(atPath: modulesPath) {
            let data = try Self.readData(modulesPath)
            guard let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw .invalidFile(path: modulesPath, reason: "not a JSON array of modules")
            }
            for module in modules {
                let type = module["type"] as? String ?? ""
                if type.hasSuffix("Normalize") { normalize = true }
                else if type.hasSuffix("Dense") {
                    throw .unsupported(path: modulesPath, reason: "a Dense projection module is not implemented")
                }
            }
        }
        self.normalize = normalize
    }

    static func readData(_ path: String) throws(TextModelError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(path: path) }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
    }

    static func readJSONObject(_ path: String) throws(TextModelError) -> [String: Any] {
        let data = try readData(path)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidFile(path: path, reason: data.isEmpty ? "file is empty (truncated download?)" : "not a JSON object")
        }
        return object
    }

    /// A stable identifier for the embedding cache: folder name, a hash of config.json, the
    /// weights file's size and the pooling/normalisation settings. Any change to the weights that
    /// changes the vectors changes at least one of these in practice (a re-export changes the
    /// size or config); it avoids hashing 90 MB of weights at every start.
    public func modelID() throws(TextModelError) -> String {
        let configData = try Self.readData(configPath)
        let vocabData = try Self.readData(vocabPath)
        let weightsSize: Int
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: weightsPath)
            weightsSize = (attrs[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw .unreadableFile(path: weightsPath, reason: "\(error.localizedDescription)")
        }
        var hash = FNV1a()
        hash.add(configData)
        hash.add(vocabData)
        hash.add(Data("\(weightsSize)|\(maxSequenceLength)|\(pooling)|\(normalize)|\(tokenizer)".utf8))
        let name = directory.standardizedFileURL.lastPathComponent
        return "\(name)@\(String(hash.value, radix: 16))"
    }
}

/// 64-bit FNV-1a, a tiny stable hash (Swift's `Hasher` is seeded per process, so unusable for ids).
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ data: Data) {
        for byte in data {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }
}
