#include "curator_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CURATOR_X86 1
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma")))
#else
#define CURATOR_X86 0
#endif

// -1: not decided yet; 0: portable; 1: AVX2+FMA.
static int use_avx2 = -1;

static int detect_avx2(void) {
#if CURATOR_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int curator_kernels_use_avx2(void) {
    if (use_avx2 < 0) use_avx2 = detect_avx2();
    return use_avx2;
}

int curator_kernels_set_avx2(int enabled) {
    int previous = curator_kernels_use_avx2();
    use_avx2 = enabled && detect_avx2();
    return previous;
}

// MARK: - Portable versions

static void add_bias_portable(float *x, int rows, int n, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        for (int j = 0; j < n; j++) row[j] += bias[j];
    }
}

static void layer_norm_portable(float *x, int rows, int n, const float *residual, const float *bias,
                                const float *gamma, const float *beta, float eps) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        const float *res = residual ? residual + (size_t)r * n : NULL;
        float sum = 0;
        for (int j = 0; j < n; j++) {
            float v = row[j];
            if (res) v += res[j];
            if (bias) v += bias[j];
            row[j] = v;
            sum += v;
        }
        float mean = sum / (float)n;
        float sq = 0;
        for (int j = 0; j < n; j++) {
            float d = row[j] - mean;
            sq += d * d;
        }
        float inv = 1.0f / sqrtf(sq / (float)n + eps);
        for (int j = 0; j < n; j++) row[j] = (row[j] - mean) * inv * gamma[j] + beta[j];
    }
}

static void bias_gelu_portable(float *x, int rows, int n, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        for (int j = 0; j < n; j++) {
            float v = row[j] + bias[j];
            row[j] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        }
    }
}

static void softmax_row_portable(float *row, int n) {
    float m = -INFINITY;
    for (int j = 0; j < n; j++) m = row[j] > m ? row[j] : m;
    float s = 0;
    for (int j = 0; j < n; j++) {
        row[j] = expf(row[j] - m);
        s += row[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++) row[j] *= inv;
}

static void attention_portable(const float *qkv, int ld_qkv, int len, int heads, int dh, float scale,
                               float *out, int ld_out, float *scores) {
    int hidden = heads * dh;
    for (int h = 0; h < heads; h++) {
        const float *q = qkv + h * dh, *k = qkv + hidden + h * dh, *v = qkv + 2 * hidden + h * dh;
        for (int i = 0; i < len; i++) {
            const float *qi = q + (size_t)i * ld_qkv;
            for (int j = 0; j < len; j++) {
                const float *kj = k + (size_t)j * ld_qkv;
                float s = 0;
                for (int d = 0; d < dh; d++) s += qi[d] * kj[d];
                scores[j] = s * scale;
            }
            softmax_row_portable(scores, len);
            float *o = out + (size_t)i * ld_out + h * dh;
            for (int d = 0; d < dh; d++) o[d] = 0;
            for (int j = 0; j < len; j++) {
                const float *vj = v + (size_t)j * ld_qkv;
                float p = scores[j];
                for (int d = 0; d < dh; d++) o[d] += p * vj[d];
            }
        }
    }
}

// MARK: - AVX2 + FMA versions

#if CURATOR_X86
AVX2_FN static inline float hsum8(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

AVX2_FN static inline float hmax8(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_max_ps(lo, hi);
    lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

// erf(x) = x·P(x²)/Q(x²) on [-4, 4] (±1 in float beyond): the rational approximation Eigen and
// TensorFlow use, a few ulp from libm's erff.
AVX2_FN static inline __m256 erf8(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, x);
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(p, q);
}

// exp(x): x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r, and 2^n built in the
// exponent bits (Cephes expf), about 1 ulp.
AVX2_FN static inline __m256 exp8(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

AVX2_FN static void add_bias_avx2(float *x, int rows, int n, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        int j = 0;
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(row + j, _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(bias + j)));
        for (; j < n; j++) row[j] += bias[j];
    }
}

AVX2_FN static void layer_norm_avx2(float *x, int rows, int n, const float *residual, const float *bias,
                                    const float *gamma, const float *beta, float eps) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        const float *res = residual ? residual + (size_t)r * n : NULL;
        __m256 sum = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 v = _mm256_loadu_ps(row + j);
            if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(row + j, v);
            sum = _mm256_add_ps(sum, v);
        }
        float tail = 0;
        for (; j < n; j++) {
            float v = row[j];
            if (res) v += res[j];
            if (bias) v += bias[j];
            row[j] = v;
            tail += v;
        }
        float mean = (hsum8(sum) + tail) / (float)n;
        __m256 meanv = _mm256_set1_ps(mean);
        __m256 sq = _mm256_setzero_ps();
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + j), meanv);
            sq = _mm256_fmadd_ps(d, d, sq);
        }
        float sqtail = 0;
        for (; j < n; j++) {
            float d = row[j] - mean;
            sqtail += d * d;
        }
        float inv = 1.0f / sqrtf((hsum8(sq) + sqtail) / (float)n + eps);
        __m256 invv = _mm256_set1_ps(inv);
        for (j = 0; j + 8 <= n; j += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), meanv), invv);
            _mm256_storeu_ps(row + j, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + j), _mm256_loadu_ps(beta + j)));
        }
        for (; j < n; j++) row[j] = (row[j] - mean) * inv * gamma[j] + beta[j];
    }
}

AVX2_FN static void bias_gelu_avx2(float *x, int rows, int n, const float *bias) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 rsqrt2 = _mm256_set1_ps(0.70710678118654752f);
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n;
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(bias + j));
            __m256 e = erf8(_mm256_mul_ps(v, rsqrt2));
            _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
        }
        for (; j < n; j++) {
            float v = row[j] + bias[j];
            row[j] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        }
    }
}

AVX2_FN static void softmax_row_avx2(float *row, int n) {
    int j = 0;
    __m256 mv = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= n; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + j));
    float m = hmax8(mv);
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    mv = _mm256_set1_ps(m);
    __m256 sv = _mm256_setzero_ps();
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv));
        _mm256_storeu_ps(row + j, e);
        sv = _mm256_add_ps(sv, e);
    }
    float s = 0;
    for (; j < n; j++) {
        row[j] = expf(row[j] - m);
        s += row[j];
    }
    float inv = 1.0f / (hsum8(sv) + s);
    __m256 iv = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), iv));
    for (; j < n; j++) row[j] *= inv;
}

// Attention with dh a multiple of 8. K of each head is first transposed into kt[dh][lenPad] so
// that 8 scores come out of dh broadcast-FMAs with no horizontal sums; the weighted sum of V
// rows then accumulates dh/8 registers per query row.
AVX2_FN static void attention_avx2(const float *qkv, int ld_qkv, int len, int heads, int dh, float scale,
                                   float *out, int ld_out, float *scratch) {
    int hidden = heads * dh;
    int lenPad = (len + 7) & ~7;
    float *kt = scratch;
    float *scores = scratch + (size_t)dh * lenPad;
    __m256 scalev = _mm256_set1_ps(scale);
    for (int h = 0; h < heads; h++) {
        const float *q = qkv + h * dh, *k = qkv + hidden + h * dh, *v = qkv + 2 * hidden + h * dh;
        for (int j = 0; j < len; j++) {
            const float *kj = k + (size_t)j * ld_qkv;
            for (int d = 0; d < dh; d++) kt[(size_t)d * lenPad + j] = kj[d];
        }
        for (int j = len; j < lenPad; j++)
            for (int d = 0; d < dh; d++) kt[(size_t)d * lenPad + j] = 0;
        for (int i = 0; i < len; i++) {
            const float *qi = q + (size_t)i * ld_qkv;
            for (int jb = 0; jb < lenPad; jb += 8) {
                __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
                int d = 0;
                for (; d + 2 <= dh; d += 2) {
                    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(qi[d]), _mm256_loadu_ps(kt + (size_t)d * lenPad + jb), acc0);
                    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(qi[d + 1]), _mm256_loadu_ps(kt + (size_t)(d + 1) * lenPad + jb), acc1);
                }
                for (; d < dh; d++)
                    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(qi[d]), _mm256_loadu_ps(kt + (size_t)d * lenPad + jb), acc0);
                _mm256_storeu_ps(scores + jb, _mm256_mul_ps(_mm256_add_ps(acc0, acc1), scalev));
            }
            softmax_row_avx2(scores, len);
            float *o = out + (size_t)i * ld_out + h * dh;
            if (dh == 32) {
                __m256 o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps(), o2 = _mm256_setzero_ps(), o3 = _mm256_setzero_ps();
                for (int j = 0; j < len; j++) {
                    const float *vj = v + (size_t)j * ld_qkv;
                    __m256 p = _mm256_set1_ps(scores[j]);
                    o0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj), o0);
                    o1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8), o1);
                    o2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 16), o2);
                    o3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 24), o3);
                }
                _mm256_storeu_ps(o, o0);
                _mm256_storeu_ps(o + 8, o1);
                _mm256_storeu_ps(o + 16, o2);
                _mm256_storeu_ps(o + 24, o3);
            } else {
                for (int d = 0; d < dh; d += 8) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int j = 0; j < len; j++)
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(scores[j]), _mm256_loadu_ps(v + (size_t)j * ld_qkv + d), acc);
                    _mm256_storeu_ps(o + d, acc);
                }
            }
        }
    }
}

AVX2_FN static void erf_avx2(const float *x, float *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, erf8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = erff(x[i]);
}

AVX2_FN static void exp_avx2(const float *x, float *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = expf(x[i]);
}
#endif

// MARK: - Dispatch

void curator_add_bias(float *x, int rows, int n, const float *bias) {
#if CURATOR_X86
    if (curator_kernels_use_avx2()) { add_bias_avx2(x, rows, n, bias); return; }
#endif
    add_bias_portable(x, rows, n, bias);
}

void curator_layer_norm(float *x, int rows, int n, const float *residual, const float *bias,
                        const float *gamma, const float *beta, float eps) {
#if CURATOR_X86
    if (curator_kernels_use_avx2()) { layer_norm_avx2(x, rows, n, residual, bias, gamma, beta, eps); return; }
#endif
    layer_norm_portable(x, rows, n, residual, bias, gamma, beta, eps);
}

void curator_bias_gelu(float *x, int rows, int n, const float *bias) {
#if CURATOR_X86
    if (curator_kernels_use_avx2()) { bias_gelu_avx2(x, rows, n, bias); return; }
#endif
    bias_gelu_portable(x, rows, n, bias);
}

void curator_softmax_rows(float *x, int rows, int n, int stride) {
    for (int r = 0; r < rows; r++) {
#if CURATOR_X86
        if (curator_kernels_use_avx2()) { softmax_row_avx2(x + (size_t)r * stride, n); continue; }
#endif
        softmax_row_portable(x + (size_t)r * stride, n);
    }
}

int curator_attention_scratch_size(int len, int dh) {
    int lenPad = (len + 7) & ~7;
    return dh * lenPad + lenPad;
}

void curator_attention(const float *qkv, int ld_qkv, int len, int heads, int dh, float scale,
                       float *out, int ld_out, float *scratch) {
#if CURATOR_X86
    if (curator_kernels_use_avx2() && dh % 8 == 0) {
        attention_avx2(qkv, ld_qkv, len, heads, dh, scale, out, ld_out, scratch);
        return;
    }
#endif
    attention_portable(qkv, ld_qkv, len, heads, dh, scale, out, ld_out, scratch);
}

void curator_erf(const float *x, float *y, int n) {
#if CURATOR_X86
    if (curator_kernels_use_avx2()) { erf_avx2(x, y, n); return; }
#endif
    for (int i = 0; i < n; i++) y[i] = erff(x[i]);
}

void curator_exp(const float *x, float *y, int n) {
#if CURATOR_X86
    if (curator_kernels_use_avx2()) { exp_avx2(x, y, n); return; }
#endif
    for (int i = 0; i < n; i++) y[i] = expf(x[i]);
}

// MARK: - Packed-weight matrix product

int curator_packed_gemm_available(void) { return curator_kernels_use_avx2(); }

long curator_packed_size(int n, int k) { return (long)((n + 15) / 16) * 16 * k; }

void curator_pack_weights(const float *w, int n, int k, float *packed) {
    int panels = (n + 15) / 16;
    for (int p = 0; p < panels; p++) {
        float *panel = packed + (size_t)p * k * 16;
        for (int kk = 0; kk < k; kk++)
            for (int c = 0; c < 16; c++) {
                int row = p * 16 + c;
                panel[(size_t)kk * 16 + c] = row < n ? w[(size_t)row * k + kk] : 0.0f;
            }
    }
}

#if CURATOR_X86
// MR rows × 16 columns: 2·MR accumulators, each k step loads 16 weights and broadcasts MR
// inputs. Called with constant MR so the compiler keeps the accumulators in registers.
#define PACKED_MICRO(MR)                                                                          \
    AVX2_FN static void packed_micro_##MR(int k, const float *a, int lda, const float *panel,    \
                                          float *c, int ldc, const float *bias, int cols) {      \
        __m256 acc0[MR], acc1[MR];                                                                \
        for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();                     \
        for (int kk = 0; kk < k; kk++) {                                                          \
            __m256 w0 = _mm256_loadu_ps(panel + (size_t)kk * 16);                                 \
            __m256 w1 = _mm256_loadu_ps(panel + (size_t)kk * 16 + 8);                             \
            for (int r = 0; r < MR; r++) {                                                        \
                __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + kk);                        \
                acc0[r] = _mm256_fmadd_ps(av, w0, acc0[r]);                                       \
                acc1[r] = _mm256_fmadd_ps(av, w1, acc1[r]);                                       \
            }                                                                                     \
        }                                                                                         \
        if (bias) {                                                                               \
            float tmp[16];                                                                        \
            for (int i = 0; i < 16; i++) tmp[i] = i < cols ? bias[i] : 0.0f;                      \
            __m256 b0 = _mm256_loadu_ps(tmp), b1 = _mm256_loadu_ps(tmp + 8);                      \
            for (int r = 0; r < MR; r++) {                                                        \
                acc0[r] = _mm256_add_ps(acc0[r], b0);                                             \
                acc1[r] = _mm256_add_ps(acc1[r], b1);                                             \
            }                                                                                     \
        }                                                                                         \
        for (int r = 0; r < MR; r++) {                                                            \
            float *row = c + (size_t)r * ldc;                                                     \
            if (cols == 16) {                                                                     \
                _mm256_storeu_ps(row, acc0[r]);                                                   \
                _mm256_storeu_ps(row + 8, acc1[r]);                                               \
            } else {                                                                              \
                float tmp[16];                                                                    \
                _mm256_storeu_ps(tmp, acc0[r]);                                                   \
                _mm256_storeu_ps(tmp + 8, acc1[r]);                                               \
                for (int i = 0; i < cols; i++) row[i] = tmp[i];                                   \
            }                                                                                     \
        }                                                                                         \
    }
PACKED_MICRO(1)
PACKED_MICRO(2)
PACKED_MICRO(3)
PACKED_MICRO(4)
PACKED_MICRO(5)
PACKED_MICRO(6)
#endif

void curator_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed,
                         const float *bias, float *c, int ldc, int n_begin, int n_end) {
#if CURATOR_X86
    if (n_end > n) n_end = n;
    // Rows are taken in blocks whose slice of A (mb × k floats, ~192 KB) stays in the L2 cache
    // while every weight panel streams past it; without blocking, a tall A is re-read from L3
    // for each of the n/16 panels and throughput halves.
    int mb = (192 * 1024 / 4) / (k > 0 ? k : 1);
    mb = mb < 6 ? 6 : mb - mb % 6;
    for (int i0 = 0; i0 < m; i0 += mb) {
        int i1 = i0 + mb < m ? i0 + mb : m;
        for (int p = n_begin / 16; p * 16 < n_end; p++) {
            const float *panel = packed + (size_t)p * k * 16;
            int col = p * 16;
            int cols = n - col < 16 ? n - col : 16;
            const float *b = bias ? bias + col : NULL;
            int i = i0;
            for (; i + 6 <= i1; i += 6) packed_micro_6(k, a + (size_t)i * lda, lda, panel, c + (size_t)i * ldc + col, ldc, b, cols);
            const float *ar = a + (size_t)i * lda;
            float *cr = c + (size_t)i * ldc + col;
            switch (i1 - i) {
            case 5: packed_micro_5(k, ar, lda, panel, cr, ldc, b, cols); break;
            case 4: packed_micro_4(k, ar, lda, panel, cr, ldc, b, cols); break;
            case 3: packed_micro_3(k, ar, lda, panel, cr, ldc, b, cols); break;
            case 2: packed_micro_2(k, ar, lda, panel, cr, ldc, b, cols); break;
            case 1: packed_micro_1(k, ar, lda, panel, cr, ldc, b, cols); break;
            default: break;
            }
        }
    }
#else
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)c; (void)ldc; (void)n_begin; (void)n_end;
#endif
}
