#ifndef CURATOR_KERNELS_H
#define CURATOR_KERNELS_H

/// Element-wise and attention kernels of the transformer encoder.
///
/// They live in C, not Swift, because only C lets one function use AVX2 and FMA while the rest of
/// the binary keeps running on any x86-64: each kernel has an AVX2+FMA version and a portable
/// version, picked once from the CPU's features. (Swift has no per-function target features, and
/// its generic SIMD conversions compiled to slow scalar code in measurements.)
/// All pointers are row-major float arrays owned by the caller; nothing here allocates.

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the AVX2+FMA versions are in use.
int curator_kernels_use_avx2(void);
/// Force the portable versions (tests compare both); returns the previous setting.
int curator_kernels_set_avx2(int enabled);

/// x[r][j] += bias[j] for rows × n.
void curator_add_bias(float *x, int rows, int n, const float *bias);

/// x = LayerNorm(x + residual + bias) * gamma + beta per row; residual and bias may be NULL.
void curator_layer_norm(float *x, int rows, int n, const float *residual, const float *bias,
                        const float *gamma, const float *beta, float eps);

/// x = GELU(x + bias), exact form 0.5·v·(1 + erf(v/√2)).
void curator_bias_gelu(float *x, int rows, int n, const float *bias);

/// Softmax of each row (length n, row stride `stride`), in place.
void curator_softmax_rows(float *x, int rows, int n, int stride);

/// Scaled dot-product attention of one sequence for all heads, without mask.
/// qkv: len rows of [Q | K | V] (each heads·dh wide), row stride ld_qkv.
/// out: len rows, head h written at columns h·dh, row stride ld_out.
/// scratch: at least curator_attention_scratch_size(len, dh) floats.
void curator_attention(const float *qkv, int ld_qkv, int len, int heads, int dh, float scale,
                       float *out, int ld_out, float *scratch);
int curator_attention_scratch_size(int len, int dh);

/// Matrix products with a weight matrix packed once in advance, for few rows (short inputs).
/// OpenBLAS re-packs the weight matrix on every call, which for a handful of rows costs as much
/// as the product itself; packing at load time removes that. AVX2+FMA only: callers use
/// OpenBLAS when curator_packed_gemm_available() is 0.
int curator_packed_gemm_available(void);
/// Floats needed to pack an n × k weight matrix (n rounded up to a multiple of 16).
long curator_packed_size(int n, int k);
/// Packs row-major W [n × k] into panels of 16 rows of W, k-major inside a panel.
void curator_pack_weights(const float *w, int n, int k, float *packed);
/// C[m × n] = A[m × k] · Wᵀ (+ bias[n] if not NULL) for columns [n_begin, n_end) (multiples of
/// 16, or n_end == n), so that two threads can each take half of the columns.
void curator_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed,
                         const float *bias, float *c, int ldc, int n_begin, int n_end);

/// Vector erf and exp on n floats (for tests of the approximations).
void curator_erf(const float *x, float *y, int n);
void curator_exp(const float *x, float *y, int n);

#ifdef __cplusplus
}
#endif
#endif
