import CBLAS

/// Element-wise and attention kernels for transformer inference, on raw row-major pointers.
///
/// They are written in C (Sources/CBLAS/curator_kernels.c) with an AVX2+FMA version picked at run
/// time and a portable fallback, because Swift cannot compile one function for AVX2 while the
/// binary stays runnable on older x86-64 CPUs. None of them allocates.
public enum Kernels {
    /// True when the AVX2+FMA versions run on this CPU.
    public static var usesAVX2: Bool { curator_kernels_use_avx2() != 0 }

    /// Switches between the AVX2 and the portable versions (for tests); returns the old setting.
    @discardableResult
    public static func setUsesAVX2(_ enabled: Bool) -> Bool {
        curator_kernels_set_avx2(enabled ? 1 : 0) != 0
    }

    /// x[r][j] += bias[j].
    @inlinable
    public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        curator_add_bias(x, Int32(rows), Int32(n), bias)
    }

    /// x = LayerNorm(x + residual + bias)·gamma + beta per row; residual and bias are optional.
    @inlinable
    public static func layerNorm(
        _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
        residual: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float
    ) {
        curator_layer_norm(x, Int32(rows), Int32(n), residual, bias, gamma, beta, eps)
    }

    /// x = GELU(x + bias) in the exact erf form used by BERT.
    @inlinable
    public static func biasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        curator_bias_gelu(x, Int32(rows), Int32(n), bias)
    }

    /// Softmax of each row (length n, row stride `stride`), in place.
    @inlinable
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int) {
        curator_softmax_rows(x, Int32(rows), Int32(n), Int32(stride))
    }

    /// Floats of scratch `attention` needs for a sequence of `length` tokens and head size `headSize`.
    @inlinable
    public static func attentionScratchSize(length: Int, headSize: Int) -> Int {
        Int(curator_attention_scratch_size(Int32(length), Int32(headSize)))
    }

    /// Unmasked scaled dot-product attention of one sequence, all heads.
    /// `qkv`: `length` rows of [Q | K | V], each `heads·headSize` wide, row stride `qkvStride`.
    /// Head h of the result goes to columns h·headSize of `output` (row stride `outputStride`).
    @inlinable
    public static func attention(
        qkv: UnsafePointer<Float>, qkvStride: Int, length: Int, heads: Int, headSize: Int, scale: Float,
        output: UnsafeMutablePointer<Float>, outputStride: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        curator_attention(qkv, Int32(qkvStride), Int32(length), Int32(heads), Int32(headSize), scale, output, Int32(outputStride), scratch)
    }

    /// erf of n floats with the kernels' approximation (exposed for accuracy tests).
    @inlinable
    public static func erf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        curator_erf(x, y, Int32(count))
    }

    /// exp of n floats with the kernels' approximation (exposed for accuracy tests).
    @inlinable
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        curator_exp(x, y, Int32(count))
    }
}
