import Foundation

/// BERT's WordPiece tokenizer, matching Hugging Face `BertTokenizerFast` (the `tokenizers` Rust
/// crate) id for id, because the model was trained on exactly those ids and any difference
/// shows up as a different embedding.
///
/// Pipeline, as in the Rust crate:
/// 1. special tokens such as `[CLS]` written in the raw text become their ids, untouched;
/// 2. BertNormalizer: drop U+0000, U+FFFD and control characters (categories Cc, Cf, Co, except
///    tab, newline and carriage return, which are whitespace), map whitespace to a space, put
///    spaces around CJK ideographs, NFD + drop non-spacing marks (strip accents), lower-case;
/// 3. BertPreTokenizer: split on whitespace, and isolate punctuation (Unicode P* or any ASCII
///    punctuation such as `$`, `+`, `^`, which Unicode calls symbols);
/// 4. WordPiece: greedy longest match from the vocabulary, `##` for word-internal pieces, and one
///    `[UNK]` for a word longer than 100 characters or with any unmatched part;
/// 5. truncate to `maxLength − 2` pieces and wrap in `[CLS] … [SEP]`.
///
/// The crate classifies characters with Unicode 8.0 tables (the `unicode_categories` crate), so a
/// mark, format character or punctuation sign added to Unicode later is, for it, an ordinary
/// letter: it is kept, not stripped or split. This tokenizer follows that, checking the
/// character's Unicode age, because matching the reference matters more than being current.
///
/// Vocabulary look-up walks a byte trie, so tokenizing does not allocate per word piece.
public struct WordPieceTokenizer: Sendable {
    public let config: TokenizerConfig
    public let maxLength: Int
    public let vocabularySize: Int
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unknownID: Int32
    /// Tokens matched verbatim in raw text before normalisation (Hugging Face "added tokens").
    public let addedTokens: [String: Int32]

    private let trie: ByteTrie
    private let continuationRoot: Int32
    private let sortedAddedTokens: [(scalars: [Unicode.Scalar], id: Int32)]
    private let tokensByID: [String]
    /// When every added token starts with "[", texts without "[" skip the added-token scan.
    private let addedTokensStartWithBracket: Bool

    /// Builds a tokenizer from vocabulary lines (token i on line i, as in vocab.txt).
    public init(vocabulary: [String], config: TokenizerConfig = TokenizerConfig(), maxLength: Int = 512, addedTokens: [String: Int32]? = nil, source: String = "vocab.txt") throws(TextModelError) {
        guard maxLength >= 2 else { throw .invalidArgument("maxLength must be at least 2 for [CLS] and [SEP], got \(maxLength)") }
        self.config = config
        self.maxLength = maxLength
        self.vocabularySize = vocabulary.count
        var trie = ByteTrie()
        var ids: [String: Int32] = [:]
        for (index, token) in vocabulary.enumerated() where !token.isEmpty {
            trie.insert(Array(token.utf8), id: Int32(index))
            if ids[token] == nil { ids[token] = Int32(index) }
        }
        func id(_ token: String) throws(TextModelError) -> Int32 {
            guard let id = ids[token] else {
                throw .invalidFile(path: source, reason: "the vocabulary has no \(token) token")
            }
            return id
        }
        clsID = try id(config.clsToken)
        sepID = try id(config.sepToken)
        unknownID = try id(config.unknownToken)
        padID = ids[config.padToken] ?? 0
        var added = addedTokens ?? [:]
        if addedTokens == nil {
            for token in [config.padToken, config.unknownToken, config.clsToken, config.sepToken, config.maskToken] {
                if let i = ids[token] { added[token] = i }
            }
        }
        self.addedTokens = added
        // Longest first so that a token that is a prefix of another never wins.
        sortedAddedTokens = added.map { (Array($0.key.unicodeScalars), $0.value) }
            .sorted { $0.scalars.count > $1.scalars.count }
        addedTokensStartWithBracket = sortedAddedTokens.allSatisfy { $0.scalars.first == "[" }
        continuationRoot = trie.walk(from: 0, bytes: Array(config.continuingSubwordPrefix.utf8))
        self.trie = trie
        tokensByID = vocabulary
    }

    /// Loads vocab.txt (one token per line, the line number is the id).
    public init(vocabularyFile path: String, config: TokenizerConfig = TokenizerConfig(), maxLength: Int = 512, addedTokens: [String: Int32]? = nil) throws(TextModelError) {
        let data = try ModelFiles.readData(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw .invalidFile(path: path, reason: "not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw .invalidFile(path: path, reason: "file is empty (truncated download?)") }
        try self.init(vocabulary: lines, config: config, maxLength: maxLength, addedTokens: addedTokens, source: path)
    }

    /// The token string for an id (for debugging and tests).
    public func token(for id: Int32) -> String? {
        Int(id) >= 0 && Int(id) < tokensByID.count ? tokensByID[Int(id)] : nil
    }

    /// Token ids for `text`: `[CLS]`, the word pieces truncated to `maxLength − 2`, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var state = TokenizerState(limit: maxLength - 2)
        state.ids.reserveCapacity(min(maxLength, text.utf8.count + 2))
        state.ids.append(clsID)
        // Split out added tokens, which are matched on the raw text.
        if sortedAddedTokens.isEmpty || (addedTokensStartWithBracket && !text.utf8.contains(UInt8(ascii: "["))) {
            tokenizeSegment(Substring(text), &state)
        } else {
            let scalars = Array(text.unicodeScalars)
            var segmentStart = 0
            var i = 0
            var segment = String.UnicodeScalarView()
            while i < scalars.count && !state.full {
                var matched: (length: Int, id: Int32)?
                for added in sortedAddedTokens where added.scalars.count <= scalars.count - i {
                    if scalars[i] == added.scalars[0] && scalars[i..<(i + added.scalars.count)].elementsEqual(added.scalars) {
                        matched = (added.scalars.count, added.id)
                        break
                    }
                }
                if let matched {
                    segment.removeAll(keepingCapacity: true)
                    segment.append(contentsOf: scalars[segmentStart..<i])
                    tokenizeSegment(Substring(String(segment)), &state)
                    state.append(matched.id)
                    i += matched.length
                    segmentStart = i
                } else {
                    i += 1
                }
            }
            if segmentStart < scalars.count && !state.full {
                segment.removeAll(keepingCapacity: true)
                segment.append(contentsOf: scalars[segmentStart...])
                tokenizeSegment(Substring(String(segment)), &state)
            }
        }
        state.ids.append(sepID)
        return state.ids
    }

    // MARK: - Normalisation and splitting

    private func tokenizeSegment(_ text: Substring, _ state: inout TokenizerState) {
        if text.isEmpty || state.full { return }
        var isASCII = true
        for byte in text.utf8 where byte >= 0x80 { isASCII = false; break }
        if isASCII {
            // Fast path: no accents, no CJK, lower-casing is a byte operation.
            for byte in text.utf8 {
                var b = byte
                if config.cleanText && (b < 0x20 || b == 0x7F) && b != 0x09 && b != 0x0A && b != 0x0D { continue }
                if config.lowercase && b >= 0x41 && b <= 0x5A { b += 0x20 }
                feed(Unicode.Scalar(b), &state)
                if state.full { return }
            }
            flushWord(&state)
            return
        }
        // 1. clean + CJK spacing.
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if config.cleanText {
                if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
                if Self.isWhitespace(s) { cleaned.append(" "); continue }
            }
            if config.tokenizeChineseChars && Self.isChineseChar(s) {
                cleaned.append(" "); cleaned.append(s); cleaned.append(" ")
            } else {
                cleaned.append(s)
            }
        }
        // 2. strip accents: NFD, then drop non-spacing marks.
        var normalized = String(cleaned)
        if config.effectiveStripAccents {
            normalized = normalized.decomposedStringWithCanonicalMapping
        }
        for s in normalized.unicodeScalars {
            if config.effectiveStripAccents && Self.isNonspacingMark(s) { continue }
            if config.lowercase {
                if s.isASCII {
                    var v = s.value
                    if v >= 0x41 && v <= 0x5A { v += 0x20 }
                    feed(Unicode.Scalar(UInt8(v)), &state)
                } else if !s.properties.changesWhenLowercased {
                    feed(s, &state)
                } else {
                    for l in s.properties.lowercaseMapping.unicodeScalars { feed(l, &state) }
                }
            } else {
                feed(s, &state)
            }
            if state.full { return }
        }
        flushWord(&state)
    }

    /// Pre-tokenizer step for one normalised character.
    @inline(__always)
    private func feed(_ s: Unicode.Scalar, _ state: inout TokenizerState) {
        if Self.isWhitespace(s) {
            flushWord(&state)
        } else if Self.isPunctuation(s) {
            flushWord(&state)
            appendScalar(s, &state)
            flushWord(&state)
        } else {
            appendScalar(s, &state)
        }
    }

    @inline(__always)
    private func appendScalar(_ s: Unicode.Scalar, _ state: inout TokenizerState) {
        state.wordScalars += 1
        if s.value < 0x80 {
            state.word.append(UInt8(s.value))
        } else {
            for b in UTF8.encode(s)! { state.word.append(b) }
        }
    }

    /// WordPiece on the word collected so far.
    private func flushWord(_ state: inout TokenizerState) {
        if state.word.isEmpty { return }
        // Take the word buffer out of `state` so the loop can append ids while reading it.
        var word: [UInt8] = []
        swap(&word, &state.word)
        defer {
            word.removeAll(keepingCapacity: true)
            swap(&word, &state.word)
            state.wordScalars = 0
        }
        if state.full { return }
        if state.wordScalars > config.maxInputCharsPerWord {
            state.append(unknownID)
            return
        }
        let mark = state.ids.count
        var start = 0
        let count = word.count
        var found = true
        while start < count {
            var node: Int32 = start == 0 ? 0 : continuationRoot
            var bestEnd = -1
            var bestID: Int32 = -1
            var i = start
            while i < count && node >= 0 {
                node = trie.child(node, word[i])
                if node < 0 { break }
                i += 1
                let id = trie.ids[Int(node)]
                if id >= 0 { bestEnd = i; bestID = id }
            }
            if bestEnd < 0 { found = false; break }
            state.ids.append(bestID)
            start = bestEnd
        }
        if !found {
            state.ids.removeSubrange(mark...)
            state.append(unknownID)
        } else if state.ids.count - 1 > state.limit {
            state.ids.removeSubrange((state.limit + 1)...)
        }
    }

    // MARK: - Character classes (as in the tokenizers crate)

    /// Unicode 8.0, the version of the tables the Rust crate uses for categories.
    @inline(__always)
    static func knownToUnicode8(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Rust `char::is_whitespace` plus tab/newline/return (White_Space property).
    @inline(__always)
    public static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09...0x0D: return true
        case 0..<0x80: return false
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Categories Cc, Cf, Co, Cs (in Unicode 8.0), except tab, newline and carriage return.
    /// Zero-width space/joiner, soft hyphen and the byte-order mark are Cf, so they vanish.
    @inline(__always)
    public static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s.value == 0x09 || s.value == 0x0A || s.value == 0x0D { return false }
        if s.value < 0x20 || s.value == 0x7F { return true }
        if s.value < 0x80 { return false }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return knownToUnicode8(s)
        default: return false
        }
    }

    /// ASCII punctuation (including symbols like `$`, `+`, `<`, `^`, `` ` ``, `|`, `~`) or Unicode P*.
    @inline(__always)
    public static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
            .initialPunctuation, .otherPunctuation, .openPunctuation:
            return knownToUnicode8(s)
        default: return false
        }
    }

    @inline(__always)
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x300 && s.properties.generalCategory == .nonspacingMark && knownToUnicode8(s)
    }

    /// The CJK blocks the crate spaces out (note 0x2B920, not 0x2B820, as in the Rust source).
    @inline(__always)
    public static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }
}

/// Per-call mutable state: the ids so far and the word being collected (reused between words).
struct TokenizerState {
    var ids: [Int32] = []
    var word: [UInt8] = []
    var wordScalars = 0
    /// Word pieces allowed (maxLength − 2); ids[0] is [CLS].
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        word.reserveCapacity(64)
    }

    var full: Bool { ids.count - 1 >= limit }

    mutating func append(_ id: Int32) {
        if !full { ids.append(id) }
    }
}

/// A byte trie over the vocabulary. Children are found through one hash table keyed by
/// (node, byte); node ids index `ids`, which holds the token id ending there or −1.
struct ByteTrie: Sendable {
    private(set) var ids: [Int32] = [-1]
    private var children: [UInt64: Int32] = [:]

    mutating func insert(_ bytes: [UInt8], id: Int32) {
        var node: Int32 = 0
        for b in bytes {
            let key = UInt64(node) << 8 | UInt64(b)
            if let next = children[key] {
                node = next
            } else {
                let next = Int32(ids.count)
                ids.append(-1)
                children[key] = next
                node = next
            }
        }
        if ids[Int(node)] < 0 { ids[Int(node)] = id }
    }

    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        children[UInt64(node) << 8 | UInt64(byte)] ?? -1
    }

    func walk(from node: Int32, bytes: [UInt8]) -> Int32 {
        var n = node
        for b in bytes {
            n = child(n, b)
            if n < 0 { return -1 }
        }
        return n
    }
}
