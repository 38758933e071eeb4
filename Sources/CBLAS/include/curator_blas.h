#ifndef CURATOR_BLAS_H
#define CURATOR_BLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Row-major / transpose flags with the same values as CBLAS.
enum { CURATOR_BLAS_ROW_MAJOR = 101, CURATOR_BLAS_NO_TRANS = 111, CURATOR_BLAS_TRANS = 112 };

/// Loads OpenBLAS if it is not loaded yet. Returns 0 on success; on failure
/// `curator_blas_error()` says why. Before loading, OPENBLAS_CORETYPE is set
/// from the CPU's features unless the user already set it, because Debian's
/// OpenBLAS does not recognise every CPU and would fall back to slow kernels.
int curator_blas_load(void);
const char *curator_blas_error(void);
/// The OPENBLAS_CORETYPE value the loader sets for this CPU given the user's current value:
/// "" (leave it) when the user set one, else the best kernel set for this CPU ("" if none fits).
const char *curator_blas_core_type_to_set(const char *user_value);
/// The kernel set OpenBLAS runs (e.g. "Haswell"), or "" before loading.
const char *curator_blas_core_name(void);
/// The core type this loader chose ("" when the user's own value was kept).
const char *curator_blas_chosen_core_type(void);
void curator_blas_set_threads(int n);
int curator_blas_threads(void);

/// C = alpha * op(A) * op(B) + beta * C, row-major. Calls curator_blas_load on first use.
void curator_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta,
                   float *c, int ldc);

/// y = alpha * op(A) * x + beta * y, row-major.
void curator_sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
                   const float *x, float beta, float *y);

#ifdef __cplusplus
}
#endif
#endif
