internal import CHNSW

/// Vectors in a compact graph's stored form (int8 values and a scale: dim + 4 bytes instead of
/// 4 × dim), scanned whole. A scan reads a quarter of the bytes of full-precision rows, which is
/// what a scan of every row is bound by: a large catalogue answers this way while its graph builds.
/// Scores are those of the dequantised vectors, as the compact graph's; callers that need the exact
/// ranking re-score the best candidates from their full-precision vectors.
public struct CompactRows: Sendable {
    public let dimension: Int
    public private(set) var count: Int
    private var bytes: [Int8]
    private var stride: Int { dimension + MemoryLayout<Float>.size }

    /// `vectors`: whole rows of `dimension` floats.
    public init(_ vectors: [Float], dimension: Int) {
        precondition(dimension > 0 && vectors.count % dimension == 0, "whole rows of \(dimension)")
        self.dimension = dimension
        count = vectors.count / dimension
        bytes = [Int8](repeating: 0, count: count * (dimension + MemoryLayout<Float>.size))
        let rows = count
        bytes.withUnsafeMutableBufferPointer { out in
            vectors.withUnsafeBufferPointer { chnsw_quantize_rows($0.baseAddress, rows, Int32(dimension), out.baseAddress) }
        }
    }

    /// Bytes held.
    public var memoryBytes: Int { bytes.count }

    public mutating func replace(row: Int, with vector: [Float]) {
        precondition(row < count && vector.count == dimension, "row \(row) of \(count), \(vector.count) values")
        let start = row * stride, d = dimension
        bytes.withUnsafeMutableBufferPointer { out in
            vector.withUnsafeBufferPointer { chnsw_quantize_rows($0.baseAddress, 1, Int32(d), out.baseAddress! + start) }
        }
    }

    public mutating func append(_ vector: [Float]) {
        precondition(vector.count == dimension, "\(vector.count) values, rows have \(dimension)")
        bytes.append(contentsOf: repeatElement(0, count: stride))
        count += 1
        replace(row: count - 1, with: vector)
    }

    /// The vectors rows `range` stand for (the dequantised values), row-major.
    public func dequantized(rows range: Range<Int>) -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "rows \(range) of \(count)")
        var out = [Float](repeating: 0, count: range.count * dimension)
        let d = dimension, start = range.lowerBound * stride
        bytes.withUnsafeBufferPointer { stored in
            out.withUnsafeMutableBufferPointer { chnsw_dequantize_rows(stored.baseAddress! + start, range.count, Int32(d), $0.baseAddress) }
        }
        return out
    }

    /// Calls `body` with row `row`'s bytes in the stored form.
    func withStoredRow<R>(_ row: Int, _ body: (UnsafePointer<Int8>) -> R) -> R {
        precondition(row >= 0 && row < count, "row \(row) of \(count)")
        let start = row * stride
        return bytes.withUnsafeBufferPointer { body($0.baseAddress! + start) }
    }

    /// Every row's score against `query`, into `scores` (one per row).
    public func scores(for query: [Float], into scores: UnsafeMutableBufferPointer<Float>) {
        precondition(query.count == dimension && scores.count >= count, "query of \(dimension), room for \(count) scores")
        let rows = count, d = dimension
        bytes.withUnsafeBufferPointer { stored in
            query.withUnsafeBufferPointer { chnsw_score_compact_rows(stored.baseAddress, rows, Int32(d), $0.baseAddress, scores.baseAddress) }
        }
    }
}
