import CBLAS

/// A weight matrix W [rows × columns] packed once for fast products `A · Wᵀ` with few rows of A.
///
/// Why: OpenBLAS packs W again on every call. For a batch of one short text (10–40 rows of A)
/// that packing costs about as much as the arithmetic, so a sentence encoder answering one
/// query at a time spends half its time copying weights. Packing at load time removes that.
/// The packed kernel needs AVX2+FMA; elsewhere `multiply` falls back to OpenBLAS on the
/// unpacked copy, so results are the same everywhere (up to float rounding).
public final class PackedMatrix: @unchecked Sendable {
    /// Rows of W (= columns of the product).
    public let rows: Int
    /// Columns of W (= the shared dimension k).
    public let columns: Int
    /// Packed panels (AVX2 kernel) or, on other CPUs, the row-major weights for OpenBLAS.
    private let storage: UnsafeMutablePointer<Float>
    private let isPacked: Bool

    /// True when products use the packed AVX2 kernel rather than OpenBLAS.
    public static var isAvailable: Bool { curator_packed_gemm_available() != 0 }

    /// Copies and packs `weights` (row-major, rows × columns). Only the packed copy is kept.
    public init(weights: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        isPacked = Self.isAvailable
        if isPacked {
            storage = .allocate(capacity: Int(curator_packed_size(Int32(rows), Int32(columns))))
            curator_pack_weights(weights, Int32(rows), Int32(columns), storage)
        } else {
            storage = .allocate(capacity: rows * columns)
            storage.update(from: weights, count: rows * columns)
        }
    }

    deinit { storage.deallocate() }

    /// Where a split of the output columns into `parts` should fall: multiples of 16, so each
    /// part covers whole packed panels.
    public func columnSplit(parts: Int) -> [Range<Int>] {
        let panels = (rows + 15) / 16
        let parts = max(1, min(parts, panels))
        return (0..<parts).map { p in
            let lo = panels * p / parts * 16, hi = min(rows, panels * (p + 1) / parts * 16)
            return lo..<hi
        }
    }

    /// C[m × rows] = A[m × columns] · Wᵀ (+ bias), computing only output columns
    /// `outputColumns` (bounds multiples of 16, or the end) so threads can split the work.
    public func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>?,
        c: UnsafeMutablePointer<Float>, ldc: Int, outputColumns: Range<Int>? = nil
    ) {
        let range = outputColumns ?? 0..<rows
        if isPacked {
            curator_gemm_packed(Int32(m), Int32(rows), Int32(columns), a, Int32(lda), storage, bias, c, Int32(ldc), Int32(range.lowerBound), Int32(range.upperBound))
        } else {
            let n = range.count
            BLAS.sgemm(transposeB: true, m: m, n: n, k: columns, a: a, lda: lda, b: storage + range.lowerBound * columns, ldb: columns, c: c + range.lowerBound, ldc: ldc)
            if let bias {
                for r in 0..<m { for j in range { c[r * ldc + j] += bias[j] } }
            }
        }
    }
}
