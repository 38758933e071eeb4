#ifndef CURATOR_Q4_H
#define CURATOR_Q4_H

#include <stdint.h>

/// Matrix products with 4-bit (Q4_0) weights and 8-bit activations, for the multilingual encoder.
///
/// Why integers: the model ships as Q4_0 (blocks of 32 weights sharing one fp16 scale). Keeping
/// the weights small (1 byte per weight once unpacked, instead of 4 as fp32) keeps a 12-layer
/// encoder in 24 MB, and multiplying 8-bit activations by them with integer dot-product
/// instructions (AVX-512 VNNI `vpdpbusd`: 64 multiply-adds per instruction; AVX2 `vpmaddubsw`)
/// does several times the work per instruction of fp32 FMA.
///
/// Each row of A is quantised per block of 32 values to int8 with the block's scale
/// d = max|x|/127 (round to nearest, ties to even), as the reference engine does; a product is
/// Σ_blocks d_w·d_a·Σ_j (nibble_j − 8)·q_j, the inner sum exact in int32.
///
/// Layout after packing: panels of 16 weight rows; inside a panel, for each block, 8 groups of
/// 64 bytes, each holding 4 consecutive weights (nibble − 8, signed) of each of the 16 rows —
/// the operand order of `vpdpbusd` — and per (panel, block) 16 float scales and 16 int32 start
/// values of the sums (activations enter as q + 128; the start value −128·Σw takes that back).

#ifdef __cplusplus
extern "C" {
#endif

/// Which kernel runs: 2 = AVX-512 VNNI, 1 = AVX2, 0 = portable C.
int curator_q4_kernel(void);
/// Forces a kernel no faster than the CPU supports (tests compare them); returns the previous one.
int curator_q4_set_kernel(int kernel);

/// Bytes of packed weights for n rows of k inputs (k a multiple of 32; n rounded up to 16).
long curator_q4_packed_bytes(int n, int k);
/// 4-byte words of per-block scales and sum start values for the same matrix.
long curator_q4_scale_count(int n, int k);

/// Packs `rows` rows of raw Q4_0 blocks (18 bytes each: fp16 scale, 16 bytes of nibbles; row r
/// at q4 + r·(k/32)·18) into rows [row_offset, row_offset + rows) of a packed matrix of n rows.
/// Rows never written stay zero (their outputs are 0 + bias).
void curator_q4_pack(const uint8_t *q4, int rows, int row_offset, int n, int k,
                     uint8_t *packed, float *scales);

/// Dequantises one Q4_0 row of k weights (embedding lookup).
void curator_q4_dequantize_row(const uint8_t *q4, int k, float *out);

/// C[m × n] = A[m × k] · Wᵀ (+ bias[n] if not NULL) for output columns [n_begin, n_end)
/// (multiples of 16, or n_end == n). A is quantised to int8 per 32-value block inside the call,
/// into a per-thread scratch that grows once and is reused (no allocation per call after that).
/// Returns 0, or -1 when that scratch cannot be allocated (C is then left untouched).
int curator_q4_gemm(int m, int n, int k, const float *a, int lda, const uint8_t *packed,
                    const float *scales, const float *bias, float *c, int ldc, int n_begin, int n_end);

#ifdef __cplusplus
}
#endif
#endif
