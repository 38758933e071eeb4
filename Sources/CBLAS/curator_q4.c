#include "curator_q4.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define Q4_X86 1
#include <immintrin.h>
#define Q4_AVX2_FN __attribute__((target("avx2,fma")))
#define Q4_VNNI_FN __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#else
#define Q4_X86 0
#endif

enum { QK = 32, PANEL = 16, GROUPS = QK / 4, BLOCK_BYTES = 18 };

/// Rows of A per AVX-512 micro-kernel call (1…6 are compiled).
#ifndef Q4_VNNI_ROWS
#define Q4_VNNI_ROWS 4
#endif

// MARK: - Kernel choice

static int detected_kernel(void) {
#if Q4_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

static int kernel_in_use = -1;

int curator_q4_kernel(void) {
    if (kernel_in_use < 0) {
        // CURATOR_Q4_KERNEL=avx2|portable lowers the choice (to compare kernels in benchmarks).
        int best = detected_kernel();
        const char *forced = getenv("CURATOR_Q4_KERNEL");
        if (forced && strcmp(forced, "avx2") == 0 && best > 1) best = 1;
        if (forced && strcmp(forced, "portable") == 0) best = 0;
        kernel_in_use = best;
    }
    return kernel_in_use;
}

int curator_q4_set_kernel(int kernel) {
    int previous = curator_q4_kernel();
    int best = detected_kernel();
    kernel_in_use = kernel < 0 ? 0 : (kernel > best ? best : kernel);
    return previous;
}

// MARK: - Packing

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: value = mantissa · 2^-24
            float f = (float)mantissa * 5.9604644775390625e-8f;
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float block_scale(const uint8_t *block) {
    uint16_t h;
    memcpy(&h, block, 2);
    return half_to_float(h);
}

long curator_q4_packed_bytes(int n, int k) { return (long)((n + PANEL - 1) / PANEL) * PANEL * k; }

long curator_q4_scale_count(int n, int k) { return (long)((n + PANEL - 1) / PANEL) * (k / QK) * 2 * PANEL; }

void curator_q4_pack(const uint8_t *q4, int rows, int row_offset, int n, int k, uint8_t *packed, float *scales) {
    int nb = k / QK;
    (void)n;
    for (int r = 0; r < rows; r++) {
        int row = row_offset + r, panel = row / PANEL, lane = row % PANEL;
        int8_t *p = (int8_t *)packed + (size_t)panel * PANEL * k;
        for (int b = 0; b < nb; b++) {
            const uint8_t *block = q4 + ((size_t)r * nb + b) * BLOCK_BYTES;
            // Per (panel, block): 16 float scales, then 16 int32 start values of the sums.
            float *info = scales + ((size_t)panel * nb + b) * 2 * PANEL;
            info[lane] = block_scale(block);
            int8_t weights[QK];
            int32_t sum = 0;
            for (int j = 0; j < 16; j++) {
                weights[j] = (int8_t)((block[2 + j] & 0x0F) - 8);  // low nibble: weight j
                weights[j + 16] = (int8_t)((block[2 + j] >> 4) - 8);  // high nibble: weight j + 16
            }
            for (int j = 0; j < QK; j++) sum += weights[j];
            // Activations enter as unsigned q + 128, which adds 128·Σw; the sum starts at −128·Σw.
            int32_t start = -128 * sum;
            memcpy(info + PANEL + lane, &start, 4);
            int8_t *dst = p + (size_t)b * GROUPS * 64;
            for (int g = 0; g < GROUPS; g++)
                for (int j = 0; j < 4; j++) dst[g * 64 + lane * 4 + j] = weights[g * 4 + j];
        }
    }
}

void curator_q4_dequantize_row(const uint8_t *q4, int k, float *out) {
    for (int b = 0; b < k / QK; b++) {
        const uint8_t *block = q4 + (size_t)b * BLOCK_BYTES;
        float d = block_scale(block);
        for (int j = 0; j < 16; j++) {
            out[b * QK + j] = (float)((int)(block[2 + j] & 0x0F) - 8) * d;
            out[b * QK + j + 16] = (float)((int)(block[2 + j] >> 4) - 8) * d;
        }
    }
}

// MARK: - Activation quantisation (Q8_0)

// Each block of 32 values becomes int8 q = round(x / d), d = max|x| / 127 (ties to even, as
// lrintf), stored as the unsigned byte q + 128: `vpdpbusd` and `vpmaddubsw` take their first
// operand unsigned, and the +128 is taken back by the sums' start values (see curator_q4_pack).

static void quantize_rows_portable(const float *a, int m, int k, int lda, uint8_t *q, float *d) {
    int nb = k / QK;
    for (int t = 0; t < m; t++) {
        for (int b = 0; b < nb; b++) {
            const float *x = a + (size_t)t * lda + b * QK;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
            float scale = amax / 127.0f, inverse = scale > 0 ? 1.0f / scale : 0.0f;
            uint8_t *out = q + (size_t)t * k + b * QK;
            for (int j = 0; j < QK; j++) {
                long v = lrintf(x[j] * inverse);
                v = v > 127 ? 127 : (v < -128 ? -128 : v);
                out[j] = (uint8_t)(v + 128);
            }
            d[(size_t)t * nb + b] = scale;
        }
    }
}

#if Q4_X86
Q4_AVX2_FN static void quantize_rows_avx2(const float *a, int m, int k, int lda, uint8_t *q, float *d) {
    int nb = k / QK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i offset = _mm256_set1_epi8((char)0x80);
    for (int t = 0; t < m; t++) {
        for (int b = 0; b < nb; b++) {
            const float *x = a + (size_t)t * lda + b * QK;
            __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
            __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
            __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                      _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
            float amax = _mm_cvtss_f32(h);
            float scale = amax / 127.0f, inverse = scale > 0 ? 1.0f / scale : 0.0f;
            __m256 iv = _mm256_set1_ps(inverse);
            // cvtps rounds to nearest, ties to even (the default mode), as lrintf does.
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, iv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, iv));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, iv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, iv));
            __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            packed = _mm256_xor_si256(_mm256_permutevar8x32_epi32(packed, order), offset);  // q + 128
            _mm256_storeu_si256((__m256i *)(q + (size_t)t * k + b * QK), packed);
            d[(size_t)t * nb + b] = scale;
        }
    }
}
#endif

// MARK: - Micro-kernels: MT rows of A × NP panels of 16 outputs

typedef struct {
    int nb;               // blocks per row
    int k;
    const uint8_t *q;     // quantised A (q + 128), row stride k
    const float *d;       // A's block scales, row stride nb
    const int8_t *panel;  // first panel of weights (nibble − 8)
    const float *info;    // first panel's per-block scales and sum start values
    const float *bias;    // at the first output column, or NULL
    float *c;             // at the first output column
    int ldc;
    int cols;             // valid outputs in the last panel (16 unless n is not a multiple of 16)
} q4_tile;

static inline int32_t load_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void store_row(float *out, const float *values, const float *bias, int count) {
    for (int i = 0; i < count; i++) out[i] = values[i] + (bias ? bias[i] : 0.0f);
}

static void q4_tile_portable(const q4_tile *tile, int mt, int np) {
    const long panel_bytes = (long)PANEL * tile->k, panel_info = (long)2 * PANEL * tile->nb;
    for (int t = 0; t < mt; t++) {
        for (int p = 0; p < np; p++) {
            float acc[PANEL] = {0};
            const int8_t *panel = tile->panel + p * panel_bytes;
            for (int b = 0; b < tile->nb; b++) {
                const uint8_t *a = tile->q + (size_t)t * tile->k + b * QK;
                const float *info = tile->info + p * panel_info + (size_t)b * 2 * PANEL;
                float da = tile->d[(size_t)t * tile->nb + b];
                const int8_t *w = panel + (size_t)b * GROUPS * 64;
                for (int lane = 0; lane < PANEL; lane++) {
                    int32_t dot;
                    memcpy(&dot, info + PANEL + lane, 4);
                    for (int g = 0; g < GROUPS; g++)
                        for (int j = 0; j < 4; j++) dot += (int32_t)w[g * 64 + lane * 4 + j] * (int32_t)a[g * 4 + j];
                    acc[lane] += (float)dot * (info[lane] * da);
                }
            }
            int count = p == np - 1 ? tile->cols : PANEL;
            store_row(tile->c + (size_t)t * tile->ldc + p * PANEL, acc, tile->bias ? tile->bias + p * PANEL : NULL, count);
        }
    }
}

#if Q4_X86
// AVX-512 VNNI: one vpdpbusd multiplies 4 activations (broadcast) by 4 weights of each of 16
// rows and adds to 16 int32 sums; per block the sums then become floats once (cvt, scale, fma).
#define Q4_VNNI_MICRO(MT, NP)                                                                         \
    Q4_VNNI_FN static void q4_vnni_##MT##_##NP(const q4_tile *tile) {                                 \
        const long panel_bytes = (long)PANEL * tile->k, panel_info = (long)2 * PANEL * tile->nb;      \
        __m512 facc[MT][NP];                                                                          \
        for (int t = 0; t < MT; t++)                                                                  \
            for (int p = 0; p < NP; p++) facc[t][p] = _mm512_setzero_ps();                            \
        for (int b = 0; b < tile->nb; b++) {                                                          \
            __m512i iacc[MT][NP];                                                                     \
            for (int p = 0; p < NP; p++) {                                                            \
                __m512i start = _mm512_loadu_si512(tile->info + p * panel_info + (size_t)b * 2 * PANEL + PANEL); \
                for (int t = 0; t < MT; t++) iacc[t][p] = start;                                      \
            }                                                                                         \
            const int8_t *w = tile->panel + (size_t)b * GROUPS * 64;                                  \
            const uint8_t *a = tile->q + b * QK;                                                      \
            for (int g = 0; g < GROUPS; g++) {                                                        \
                __m512i wv[NP];                                                                       \
                for (int p = 0; p < NP; p++) wv[p] = _mm512_loadu_si512(w + p * panel_bytes + g * 64); \
                for (int t = 0; t < MT; t++) {                                                        \
                    __m512i av = _mm512_set1_epi32(load_i32(a + (size_t)t * tile->k + g * 4));        \
                    for (int p = 0; p < NP; p++) iacc[t][p] = _mm512_dpbusd_epi32(iacc[t][p], av, wv[p]); \
                }                                                                                     \
            }                                                                                         \
            for (int t = 0; t < MT; t++) {                                                            \
                __m512 da = _mm512_set1_ps(tile->d[(size_t)t * tile->nb + b]);                        \
                for (int p = 0; p < NP; p++) {                                                        \
                    __m512 scale = _mm512_mul_ps(_mm512_loadu_ps(tile->info + p * panel_info + (size_t)b * 2 * PANEL), da); \
                    facc[t][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[t][p]), scale, facc[t][p]); \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
        for (int t = 0; t < MT; t++)                                                                  \
            for (int p = 0; p < NP; p++) {                                                            \
                float *out = tile->c + (size_t)t * tile->ldc + p * PANEL;                             \
                const float *bias = tile->bias ? tile->bias + p * PANEL : NULL;                       \
                if (p == NP - 1 && tile->cols < PANEL) {                                              \
                    float tmp[PANEL];                                                                 \
                    _mm512_storeu_ps(tmp, facc[t][p]);                                                \
                    store_row(out, tmp, bias, tile->cols);                                            \
                } else {                                                                              \
                    __m512 v = facc[t][p];                                                            \
                    if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias));                            \
                    _mm512_storeu_ps(out, v);                                                         \
                }                                                                                     \
            }                                                                                         \
    }
Q4_VNNI_MICRO(6, 2)
Q4_VNNI_MICRO(5, 2)
Q4_VNNI_MICRO(4, 2)
Q4_VNNI_MICRO(3, 2)
Q4_VNNI_MICRO(2, 2)
Q4_VNNI_MICRO(1, 2)
Q4_VNNI_MICRO(6, 1)
Q4_VNNI_MICRO(5, 1)
Q4_VNNI_MICRO(4, 1)
Q4_VNNI_MICRO(3, 1)
Q4_VNNI_MICRO(2, 1)
Q4_VNNI_MICRO(1, 1)

// AVX2: vpmaddubsw (unsigned activation × signed weight, pairs to int16: at most 2·255·8, no
// saturation) then vpmaddwd by ones to int32 does what one vpdpbusd does. One half-panel
// (8 rows) at a time keeps the MT × 2 accumulators in the 16 ymm registers.
#define Q4_AVX2_MICRO(MT)                                                                             \
    Q4_AVX2_FN static void q4_avx2_##MT(const q4_tile *tile, int half) {                              \
        const __m256i ones = _mm256_set1_epi16(1);                                                    \
        __m256 facc[MT];                                                                              \
        for (int t = 0; t < MT; t++) facc[t] = _mm256_setzero_ps();                                   \
        for (int b = 0; b < tile->nb; b++) {                                                          \
            const float *info = tile->info + (size_t)b * 2 * PANEL + half * 8;                        \
            __m256i iacc[MT];                                                                         \
            __m256i start = _mm256_loadu_si256((const __m256i *)(info + PANEL));                      \
            for (int t = 0; t < MT; t++) iacc[t] = start;                                             \
            const int8_t *w = tile->panel + (size_t)b * GROUPS * 64 + half * 32;                      \
            const uint8_t *a = tile->q + b * QK;                                                      \
            for (int g = 0; g < GROUPS; g++) {                                                        \
                __m256i wv = _mm256_loadu_si256((const __m256i *)(w + g * 64));                       \
                for (int t = 0; t < MT; t++) {                                                        \
                    __m256i av = _mm256_set1_epi32(load_i32(a + (size_t)t * tile->k + g * 4));        \
                    iacc[t] = _mm256_add_epi32(iacc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(av, wv), ones)); \
                }                                                                                     \
            }                                                                                         \
            __m256 ws = _mm256_loadu_ps(info);                                                        \
            for (int t = 0; t < MT; t++) {                                                            \
                __m256 scale = _mm256_mul_ps(ws, _mm256_set1_ps(tile->d[(size_t)t * tile->nb + b]));  \
                facc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[t]), scale, facc[t]);               \
            }                                                                                         \
        }                                                                                             \
        int count = tile->cols - half * 8;                                                            \
        if (count > 8) count = 8;                                                                     \
        const float *bias = tile->bias ? tile->bias + half * 8 : NULL;                                \
        for (int t = 0; t < MT && count > 0; t++) {                                                   \
            float *out = tile->c + (size_t)t * tile->ldc + half * 8;                                  \
            if (count == 8) {                                                                         \
                __m256 v = facc[t];                                                                   \
                if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));                                \
                _mm256_storeu_ps(out, v);                                                             \
            } else {                                                                                  \
                float tmp[8];                                                                         \
                _mm256_storeu_ps(tmp, facc[t]);                                                       \
                store_row(out, tmp, bias, count);                                                     \
            }                                                                                         \
        }                                                                                             \
    }
Q4_AVX2_MICRO(4)
Q4_AVX2_MICRO(3)
Q4_AVX2_MICRO(2)
Q4_AVX2_MICRO(1)
#endif

/// Rows of A per micro-kernel call for each kernel.
static int rows_per_tile(int kernel) { return kernel == 2 ? Q4_VNNI_ROWS : 4; }

static void run_tile(int kernel, const q4_tile *tile, int mt, int np) {
#if Q4_X86
    if (kernel == 2) {
#define Q4_VNNI_CASES(NP)                                  \
        switch (mt) {                                      \
        case 6: q4_vnni_6_##NP(tile); return;              \
        case 5: q4_vnni_5_##NP(tile); return;              \
        case 4: q4_vnni_4_##NP(tile); return;              \
        case 3: q4_vnni_3_##NP(tile); return;              \
        case 2: q4_vnni_2_##NP(tile); return;              \
        default: q4_vnni_1_##NP(tile); return;             \
        }
        if (np == 2) { Q4_VNNI_CASES(2) }
        Q4_VNNI_CASES(1)
#undef Q4_VNNI_CASES
    }
    if (kernel == 1) {
        // One half-panel at a time (16 ymm registers are too few for more).
        const long panel_bytes = (long)PANEL * tile->k, panel_info = (long)2 * PANEL * tile->nb;
        for (int p = 0; p < np; p++) {
            q4_tile one = *tile;
            one.panel = tile->panel + p * panel_bytes;
            one.info = tile->info + p * panel_info;
            one.bias = tile->bias ? tile->bias + p * PANEL : NULL;
            one.c = tile->c + p * PANEL;
            one.cols = p == np - 1 ? tile->cols : PANEL;
            for (int half = 0; half < 2; half++) {
                switch (mt) {
                case 4: q4_avx2_4(&one, half); break;
                case 3: q4_avx2_3(&one, half); break;
                case 2: q4_avx2_2(&one, half); break;
                default: q4_avx2_1(&one, half); break;
                }
            }
        }
        return;
    }
#endif
    (void)kernel;
    q4_tile_portable(tile, mt, np);
}

// MARK: - Product

/// Per-thread scratch for the quantised activations, grown on demand and kept for the thread's
/// life: encoder threads are long-lived pool threads, so this allocates once per thread.
static __thread uint8_t *scratch_q = NULL;
static __thread float *scratch_d = NULL;
static __thread size_t scratch_capacity = 0;  // in bytes of quantised values

static int reserve_scratch(size_t values) {
    if (values <= scratch_capacity) return 1;
    size_t capacity = values > scratch_capacity * 3 / 2 ? values : scratch_capacity * 3 / 2;
    free(scratch_q);
    free(scratch_d);
    scratch_q = malloc(capacity);
    scratch_d = malloc(capacity / QK * sizeof(float) + sizeof(float));
    if (!scratch_q || !scratch_d) {
        free(scratch_q);
        free(scratch_d);
        scratch_q = NULL;
        scratch_d = NULL;
        scratch_capacity = 0;
        return 0;
    }
    scratch_capacity = capacity;
    return 1;
}

int curator_q4_gemm(int m, int n, int k, const float *a, int lda, const uint8_t *packed,
                    const float *scales, const float *bias, float *c, int ldc, int n_begin, int n_end) {
    if (m <= 0 || n_begin >= n_end) return 0;
    if (n_end > n) n_end = n;
    int nb = k / QK;
    if (!reserve_scratch((size_t)m * k)) return -1;
    int kernel = curator_q4_kernel();
#if Q4_X86
    if (kernel >= 1) quantize_rows_avx2(a, m, k, lda, scratch_q, scratch_d);
    else
#endif
        quantize_rows_portable(a, m, k, lda, scratch_q, scratch_d);

    // Rows of A in chunks whose quantised slice (~64 KB) stays in L2 while the weight panels
    // stream past; panels two at a time on AVX-512 (each activation broadcast feeds 32 outputs).
    const int mt_max = rows_per_tile(kernel);
    int chunk = (64 * 1024) / (k > 0 ? k : 1);
    chunk = chunk < mt_max ? mt_max : chunk - chunk % mt_max;
    for (int i0 = 0; i0 < m; i0 += chunk) {
        int i1 = i0 + chunk < m ? i0 + chunk : m;
        for (int p = n_begin / PANEL; p * PANEL < n_end;) {
            int col = p * PANEL;
            int np = (kernel == 2 && (p + 1) * PANEL < n_end) ? 2 : 1;
            int last_col = col + np * PANEL;
            int cols = (last_col > n_end ? n_end : last_col) - (col + (np - 1) * PANEL);
            q4_tile tile = {
                .nb = nb, .k = k,
                .panel = (const int8_t *)packed + (size_t)p * PANEL * k,
                .info = scales + (size_t)p * nb * 2 * PANEL,
                .bias = bias ? bias + col : NULL,
                .ldc = ldc, .cols = cols,
            };
            for (int i = i0; i < i1; i += mt_max) {
                int mt = i1 - i < mt_max ? i1 - i : mt_max;
                tile.q = scratch_q + (size_t)i * k;
                tile.d = scratch_d + (size_t)i * nb;
                tile.c = c + (size_t)i * ldc + col;
                run_tile(kernel, &tile, mt, np);
            }
            p += np;
        }
    }
    return 0;
}
