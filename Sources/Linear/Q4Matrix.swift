import CBLAS

/// A 4-bit (Q4_0) weight matrix W [rows × columns], unpacked once into the layout of the integer
/// dot-product kernels, for products `A · Wᵀ` with float A (quantised to int8 per 32 values
/// inside the product).
///
/// Why: the multilingual encoder ships as Q4_0. Dequantising to fp32 would take 4 bytes per
/// weight (85 MB for e5-small's layers) and run on fp32 FMA; one byte per weight and
/// `vpdpbusd`/`vpmaddubsw` keep the layers in 21 MB and do 4–8 times the multiply-adds per
/// instruction. The kernel is chosen for the CPU at run time (AVX-512 VNNI, AVX2, portable C).
public final class Q4Matrix: @unchecked Sendable {
    /// Rows of W (= columns of the product).
    public let rows: Int
    /// Columns of W (= the shared dimension k), a multiple of 32.
    public let columns: Int
    private let packed: UnsafeMutablePointer<UInt8>
    private let scales: UnsafeMutablePointer<Float>

    /// Bytes of one row of raw Q4_0 blocks (18 bytes per 32 weights).
    public static func rowBytes(columns: Int) -> Int { columns / 32 * 18 }

    /// Stacks raw Q4_0 matrices (each `rows` × `columns`, rows of 18-byte blocks) on top of each
    /// other, so that one product computes all of them (Q, K and V together).
    public init(stacking parts: [(blocks: UnsafeRawPointer, rows: Int)], columns: Int) {
        precondition(columns > 0 && columns % 32 == 0, "Q4Matrix: columns must be a positive multiple of 32")
        let rows = parts.reduce(0) { $0 + $1.rows }
        self.rows = rows
        self.columns = columns
        let byteCount = Int(curator_q4_packed_bytes(Int32(rows), Int32(columns)))
        let scaleCount = Int(curator_q4_scale_count(Int32(rows), Int32(columns)))  // scales and sum starts
        packed = .allocate(capacity: byteCount)
        packed.initialize(repeating: 0, count: byteCount)
        scales = .allocate(capacity: scaleCount)
        scales.initialize(repeating: 0, count: scaleCount)
        var offset = 0
        for part in parts {
            curator_q4_pack(part.blocks.assumingMemoryBound(to: UInt8.self), Int32(part.rows), Int32(offset), Int32(rows), Int32(columns), packed, scales)
            offset += part.rows
        }
    }

    /// One raw Q4_0 matrix.
    public convenience init(blocks: UnsafeRawPointer, rows: Int, columns: Int) {
        self.init(stacking: [(blocks, rows)], columns: columns)
    }

    deinit {
        packed.deallocate()
        scales.deallocate()
    }

    /// Bytes held (packed weights and scales).
    public var memoryBytes: Int {
        Int(curator_q4_packed_bytes(Int32(rows), Int32(columns))) + Int(curator_q4_scale_count(Int32(rows), Int32(columns))) * 4
    }

    /// Where a split of the output columns into `parts` should fall: multiples of 32, so each
    /// part covers whole pairs of 16-row panels (the AVX-512 kernel's unit).
    public func columnSplit(parts: Int) -> [Range<Int>] {
        let units = (rows + 31) / 32
        let parts = max(1, min(parts, units))
        return (0..<parts).map { p in
            (units * p / parts * 32)..<min(rows, units * (p + 1) / parts * 32)
        }
    }

    /// C[m × rows] = A[m × columns] · Wᵀ (+ bias) for output columns `outputColumns`.
    public func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>?,
        c: UnsafeMutablePointer<Float>, ldc: Int, outputColumns: Range<Int>? = nil
    ) {
        let range = outputColumns ?? 0..<rows
        let status = curator_q4_gemm(
            Int32(m), Int32(rows), Int32(columns), a, Int32(lda), packed, scales, bias, c, Int32(ldc),
            Int32(range.lowerBound), Int32(range.upperBound))
        precondition(status == 0, "Q4Matrix: out of memory for \(m) × \(columns) activations")
    }

    /// The kernel in use: "avx512-vnni", "avx2" or "portable".
    public static var kernelName: String {
        switch curator_q4_kernel() {
        case 2: return "avx512-vnni"
        case 1: return "avx2"
        default: return "portable"
        }
    }

    /// Forces a kernel (2 AVX-512 VNNI, 1 AVX2, 0 portable), never one the CPU lacks; for tests
    /// and benchmarks. Returns the previous choice.
    @discardableResult
    public static func setKernel(_ kernel: Int) -> Int { Int(curator_q4_set_kernel(Int32(kernel))) }

    /// Dequantises one raw Q4_0 row of `columns` weights into `output`.
    public static func dequantizeRow(_ blocks: UnsafeRawPointer, columns: Int, into output: UnsafeMutablePointer<Float>) {
        curator_q4_dequantize_row(blocks.assumingMemoryBound(to: UInt8.self), Int32(columns), output)
    }
}
