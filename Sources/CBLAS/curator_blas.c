#define _GNU_SOURCE
#include "curator_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*corename_fn)(void);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char load_error[512] = "OpenBLAS not loaded yet";
static char chosen_core[32] = "";
static sgemm_fn p_sgemm;
static sgemv_fn p_sgemv;
static set_threads_fn p_set_threads;
static get_threads_fn p_get_threads;
static corename_fn p_corename;

static const char *core_type_for_this_cpu(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        if (__builtin_cpu_supports("avx512bf16")) return "Cooperlake";
        return "SkylakeX";
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "Sandybridge";
    return "";
#else
    return "";
#endif
}

const char *curator_blas_core_type_to_set(const char *user_value) {
    if (user_value != NULL && user_value[0] != '\0') return "";
    return core_type_for_this_cpu();
}

static void load(void) {
    const char *core = curator_blas_core_type_to_set(getenv("OPENBLAS_CORETYPE"));
    if (core[0] != '\0') {
        setenv("OPENBLAS_CORETYPE", core, 1);
        strncpy(chosen_core, core, sizeof(chosen_core) - 1);
    }
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblas.dylib"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (handle == NULL) {
        snprintf(load_error, sizeof(load_error),
                 "cannot load OpenBLAS (libopenblas.so.0): %s; install it with: apt-get install libopenblas0",
                 dlerror());
        load_status = -1;
        return;
    }
    p_sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    p_sgemv = (sgemv_fn)dlsym(handle, "cblas_sgemv");
    p_set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    p_get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    p_corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    if (p_sgemm == NULL || p_sgemv == NULL) {
        snprintf(load_error, sizeof(load_error), "OpenBLAS was loaded but has no cblas_sgemm/cblas_sgemv");
        load_status = -1;
        return;
    }
    load_error[0] = '\0';
    load_status = 0;
}

int curator_blas_load(void) {
    pthread_once(&load_once, load);
    return load_status;
}

const char *curator_blas_error(void) { return load_error; }

const char *curator_blas_core_name(void) {
    if (load_status != 0 || p_corename == NULL) return "";
    return p_corename();
}

const char *curator_blas_chosen_core_type(void) { return chosen_core; }

void curator_blas_set_threads(int n) {
    if (curator_blas_load() == 0 && p_set_threads != NULL) p_set_threads(n);
}

int curator_blas_threads(void) {
    if (curator_blas_load() == 0 && p_get_threads != NULL) return p_get_threads();
    return 0;
}

void curator_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta,
                   float *c, int ldc) {
    if (curator_blas_load() != 0) {
        fprintf(stderr, "curator: %s\n", load_error);
        abort();
    }
    p_sgemm(CURATOR_BLAS_ROW_MAJOR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void curator_sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
                   const float *x, float beta, float *y) {
    if (curator_blas_load() != 0) {
        fprintf(stderr, "curator: %s\n", load_error);
        abort();
    }
    p_sgemv(CURATOR_BLAS_ROW_MAJOR, trans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}
