#ifndef CHNSW_H
#define CHNSW_H

// A small C interface over hnswlib (Debian's libhnswlib-dev, header-only) for Swift.
//
// Scores are inner products (1 - hnswlib's inner-product distance); higher is better.
// Labels are the caller's 64-bit ids. Thread safety: concurrent searches are safe with
// each other; adds may run concurrently with other adds of *different* labels; nothing
// else may run concurrently with a write (add, delete, resize, save). The Swift wrapper
// enforces this with a readers-writer lock. Functions never throw: C++ exceptions become
// a non-zero return and a message in `err` (when it is not NULL).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chnsw_index chnsw_index;

/// Returns non-zero when `label` may be returned by a search.
typedef int (*chnsw_filter_fn)(void *context, int64_t label);

/// A new empty index for `dim`-dimensional vectors with room for `capacity` elements. `compact`
/// non-zero: each vector is stored as dim int8 values and a float scale (max|x| / 127), and
/// every score is the inner product of the dequantised vectors (queries are quantised the same
/// way); callers re-rank the best candidates from their full-precision vectors.
chnsw_index *chnsw_create(int dim, int compact, size_t capacity, int m, int ef_construction, uint64_t seed,
                          char *err, size_t err_len);
/// Loads an index saved by chnsw_save. `capacity` 0 keeps the saved capacity. Fails when the
/// saved index has another dimension or another storage (`compact`).
chnsw_index *chnsw_load(const char *path, int dim, int compact, size_t capacity, char *err, size_t err_len);
int chnsw_save(chnsw_index *index, const char *path, char *err, size_t err_len);
void chnsw_free(chnsw_index *index);

int chnsw_dim(const chnsw_index *index);
size_t chnsw_capacity(const chnsw_index *index);
/// Elements stored, including those marked deleted.
size_t chnsw_element_count(const chnsw_index *index);
size_t chnsw_deleted_count(const chnsw_index *index);
int chnsw_resize(chnsw_index *index, size_t capacity, char *err, size_t err_len);

/// Inserts `vector` under `label` (the shim's own insert: hnswlib's algorithm and locks, arranged
/// for memory), or replaces the vector of an existing label (undeleting it; hnswlib's update).
int chnsw_add(chnsw_index *index, const float *vector, int64_t label, char *err, size_t err_len);
/// Marks `label` deleted: 0 when done, 1 when the label is absent or already deleted.
int chnsw_mark_deleted(chnsw_index *index, int64_t label);
/// 1 when `label` is stored and not deleted.
int chnsw_contains(const chnsw_index *index, int64_t label);
/// Copies the vector of a live label into `out` (dim floats, dequantised when compact): 0 when
/// found, 1 otherwise.
int chnsw_get_vector(const chnsw_index *index, int64_t label, float *out);
/// 1 when `label` is live and its stored vector is what adding `vector` would store.
int chnsw_stores_same(const chnsw_index *index, int64_t label, const float *vector);
int chnsw_is_compact(const chnsw_index *index);
/// Writes up to `max` live labels into `out`, sampled evenly (with a seed-dependent offset)
/// across the index when there are more; returns how many were written.
size_t chnsw_sample_labels(const chnsw_index *index, size_t max, uint64_t seed, int64_t *out);

/// Approximate k nearest neighbours by graph search with beam width `ef` (raised to k).
/// Elements the filter rejects are walked through but never returned. Writes best first
/// (score descending, then label ascending); returns the count written (≤ k).
size_t chnsw_search(const chnsw_index *index, const float *query, size_t k, size_t ef,
                    chnsw_filter_fn filter, void *context, int64_t *labels, float *scores);
/// Exact k nearest neighbours over every live element the filter accepts (the filter
/// is asked before any distance is computed). Same output as chnsw_search.
size_t chnsw_scan(const chnsw_index *index, const float *query, size_t k,
                  chnsw_filter_fn filter, void *context, int64_t *labels, float *scores);
/// Exact scores of `query` against the given labels; NaN for absent or deleted labels.
void chnsw_score_labels(const chnsw_index *index, const float *query, const int64_t *labels,
                        size_t count, float *scores);

/// Which inner-product kernel runs: "avx512", "avx2", or "scalar".
const char *chnsw_kernel_name(void);
/// Which int8 kernel compact indexes run: "avx512-vnni", "avx2", or "scalar".
const char *chnsw_int8_kernel_name(void);

/// Writes `count` rows of `dim` floats in a compact index's stored form (dim int8 values, then
/// a float scale: dim + 4 bytes each) to `out`, for scans outside a graph.
void chnsw_quantize_rows(const float *rows, size_t count, int dim, int8_t *out);
/// Scores of `query` against `count` rows in the stored form, as a compact index scores them
/// (the product of the dequantised vectors, the query quantised the same way).
void chnsw_score_compact_rows(const int8_t *rows, size_t count, int dim, const float *query, float *out);
/// The vectors `count` rows in the stored form stand for (scale × int8 values), row-major.
void chnsw_dequantize_rows(const int8_t *rows, size_t count, int dim, float *out);
/// Inserts a vector already in the stored form (`chnsw_quantize_rows`' output) under `label`,
/// as chnsw_add of the vector it was made from would: a compact index built from rows a caller
/// holds in that form needs no full-precision copy of them. Fails on an index that is not compact.
int chnsw_add_stored(chnsw_index *index, const int8_t *stored, int64_t label, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
