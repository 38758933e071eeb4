import TextModels

/// A language model stand-in for tests that exercise the server, not the model: each word of a
/// text is hashed into one of `dimension` slots and the counts are L2-normalised, so texts
/// sharing words are close. Deterministic, instant, no model files.
public final class WordHashEncoder: TextEncoder {
    public init() {}

    public let name = "word-hash"
    public let modelID = "word-hash-test"
    public let dimension = 32
    public let threads = 1
    public let unknownTokenID: Int32 = 0

    public func inputIDs(_ text: String, role: TextRole) -> [Int32] {
        words(text).map { Int32(slot($0) + 1) }
    }

    public func encodeMatrix(_ texts: [String], role: TextRole) -> EmbeddingMatrix {
        var values = [Float](repeating: 0, count: texts.count * dimension)
        for (row, text) in texts.enumerated() {
            for word in words(text) { values[row * dimension + slot(word)] += 1 }
            let norm = values[(row * dimension)..<((row + 1) * dimension)].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for c in 0..<dimension { values[row * dimension + c] = norm > 0 ? values[row * dimension + c] / norm : (c == 0 ? 1 : 0) }
        }
        return EmbeddingMatrix(count: texts.count, dimension: dimension, values: values)
    }

    private func words(_ text: String) -> [Substring] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }
    }

    /// FNV-1a, so the slot of a word is the same in every process.
    private func slot(_ word: Substring) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(dimension))
    }
}
