// extern "C" shim over hnswlib 0.6 (header-only). See include/chnsw.h for the contract.
#include "chnsw.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <queue>
#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CHNSW_X86 1
#include <immintrin.h>
#else
#define CHNSW_X86 0
#endif

namespace {

// MARK: - Inner-product distance, picked at run time for this CPU

// hnswlib's own InnerProductSpace only uses AVX when the whole file is compiled with -mavx,
// which would make the binary require AVX everywhere. These kernels are compiled for their
// instruction sets individually and chosen once by CPU detection.

float ip_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

#if CHNSW_X86
__attribute__((target("avx2,fma"))) float ip_avx2(const float *a, const float *b, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc0 = _mm256_add_ps(acc0, acc1);
    __m128 lo = _mm256_castps256_ps128(acc0), hi = _mm256_extractf128_ps(acc0, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    float s = _mm_cvtss_f32(lo);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx512f"))) float ip_avx512(const float *a, const float *b, size_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
#endif

typedef float (*ip_fn)(const float *, const float *, size_t);

struct Kernel {
    ip_fn fn;
    const char *name;
};

Kernel pick_kernel() {
#if CHNSW_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return {ip_avx512, "avx512"};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {ip_avx2, "avx2"};
#endif
    return {ip_scalar, "scalar"};
}

// Chosen once at load time, so the hot path is one indirect call with no guard.
const Kernel chosen_kernel = pick_kernel();

inline const Kernel &kernel() { return chosen_kernel; }

float ip_distance(const void *a, const void *b, const void *dim) {
    return 1.0f - kernel().fn((const float *)a, (const float *)b, *(const size_t *)dim);
}

class Space : public hnswlib::SpaceInterface<float> {
public:
    explicit Space(size_t dim) : dim_(dim) {}
    size_t get_data_size() override { return dim_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return ip_distance; }
    void *get_dist_func_param() override { return &dim_; }

private:
    size_t dim_;
};

// MARK: - Compact storage: int8 with a per-vector scale

// A stored vector is `dim` int8 values q with x ≈ scale × q (scale = max|x| / 127), then the
// float scale: dim + 4 bytes instead of 4 × dim. Inner products are exact over the int8 values
// and scaled, so a score is the product of the two dequantised vectors; callers that need the
// exact full-precision ranking re-rank the best candidates from their own vectors.

int32_t dot_i8_scalar(const int8_t *a, const int8_t *b, size_t n) {
    int32_t s = 0;
    for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

#if CHNSW_X86
__attribute__((target("avx2"))) int32_t dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16)));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
    }
    for (; i + 16 <= n; i += 16) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
    }
    acc0 = _mm256_add_epi32(acc0, acc1);
    __m128i lo = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4e));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0xb1));
    int32_t s = _mm_cvtsi128_si32(lo);
    for (; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}
#endif

#if CHNSW_X86
// 32 int8 products per step: sign-extended to int16, multiplied pairwise and summed into int32
// lanes in one instruction (VNNI's vpdpwssd). Half the steps of the AVX2 kernel; building a
// large graph spends about a third of its time here.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t dot_i8_avx512vnni(const int8_t *a, const int8_t *b,
                                                                                  size_t n) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i a0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i b0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512i a1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i + 32)));
        __m512i b1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i + 32)));
        acc0 = _mm512_dpwssd_epi32(acc0, a0, b0);
        acc1 = _mm512_dpwssd_epi32(acc1, a1, b1);
    }
    for (; i + 32 <= n; i += 32) {
        __m512i a0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i b0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        acc0 = _mm512_dpwssd_epi32(acc0, a0, b0);
    }
    int32_t s = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
    for (; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}
#endif

typedef int32_t (*dot_i8_fn)(const int8_t *, const int8_t *, size_t);

struct Int8Kernel {
    dot_i8_fn fn;
    const char *name;
};

Int8Kernel pick_i8_kernel() {
#if CHNSW_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) return {dot_i8_avx512vnni, "avx512-vnni"};
    if (__builtin_cpu_supports("avx2")) return {dot_i8_avx2, "avx2"};
#endif
    return {dot_i8_scalar, "scalar"};
}

const Int8Kernel chosen_i8 = pick_i8_kernel();
const dot_i8_fn chosen_i8_kernel = chosen_i8.fn;

inline float stored_scale(const void *v, size_t dim) {
    float scale;
    std::memcpy(&scale, (const int8_t *)v + dim, sizeof(float));
    return scale;
}

float i8_distance(const void *a, const void *b, const void *dim_ptr) {
    size_t dim = *(const size_t *)dim_ptr;
    int32_t dot = chosen_i8_kernel((const int8_t *)a, (const int8_t *)b, dim);
    return 1.0f - stored_scale(a, dim) * stored_scale(b, dim) * (float)dot;
}

// Writes `x` in the stored form: dim int8 values, then the float scale.
void quantize(const float *x, size_t dim, int8_t *out) {
    float largest = 0;
    for (size_t i = 0; i < dim; i++) largest = std::max(largest, std::fabs(x[i]));
    float scale = largest > 0 ? largest / 127.0f : 1.0f;
    float inverse = 1.0f / scale;
    for (size_t i = 0; i < dim; i++) {
        float q = std::nearbyint(x[i] * inverse);
        out[i] = (int8_t)std::max(-127.0f, std::min(127.0f, q));
    }
    std::memcpy(out + dim, &scale, sizeof(float));
}

class Int8Space : public hnswlib::SpaceInterface<float> {
public:
    explicit Int8Space(size_t dim) : dim_(dim) {}
    size_t get_data_size() override { return dim_ + sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return i8_distance; }
    void *get_dist_func_param() override { return &dim_; }

private:
    size_t dim_;
};

typedef hnswlib::HierarchicalNSW<float> Graph;
typedef hnswlib::tableint tableint;

void set_error(char *err, size_t len, const char *message) {
    if (err == nullptr || len == 0) return;
    std::strncpy(err, message, len - 1);
    err[len - 1] = '\0';
}

struct Hit {
    float dist;
    int64_t label;
};

// Best first: smaller distance (larger inner product), then smaller label.
bool better(const Hit &a, const Hit &b) { return a.dist < b.dist || (a.dist == b.dist && a.label < b.label); }

size_t emit(std::vector<Hit> &hits, size_t k, int64_t *labels, float *scores) {
    std::sort(hits.begin(), hits.end(), better);
    size_t n = std::min(k, hits.size());
    for (size_t i = 0; i < n; i++) {
        labels[i] = hits[i].label;
        scores[i] = 1.0f - hits[i].dist;
    }
    return n;
}

// A query (or a vector to add) in the stored form.
struct Query {
    std::vector<int8_t> compact;
    const void *data;

    Query(const float *x, size_t dim, bool is_compact) {
        if (is_compact) {
            compact.resize(dim + sizeof(float));
            quantize(x, dim, compact.data());
            data = compact.data();
        } else {
            data = x;
        }
    }
};

}  // namespace

struct chnsw_index {
    Space space;
    Int8Space compact_space;
    Graph *graph;
    int dim;
    size_t dim_size;
    bool compact;
    // Levels of new elements are drawn from it (see `insert`).
    uint64_t seed;

    chnsw_index(int d, bool is_compact, uint64_t level_seed)
        : space((size_t)d), compact_space((size_t)d), graph(nullptr), dim(d), dim_size((size_t)d), compact(is_compact),
          seed(level_seed) {}
    ~chnsw_index() { delete graph; }

    hnswlib::SpaceInterface<float> *space_in_use() { return compact ? (hnswlib::SpaceInterface<float> *)&compact_space : &space; }
    size_t data_size() const { return compact ? (size_t)dim + sizeof(float) : (size_t)dim * sizeof(float); }

    int64_t label_of(tableint id) const { return (int64_t)graph->getExternalLabel(id); }
    const char *data_of(tableint id) const { return graph->getDataByInternalId(id); }
    // `q` is in the stored form (see `Query`).
    float dist(const void *q, tableint id) const {
        if (compact) return i8_distance(q, data_of(id), &dim_size);
        return 1.0f - kernel().fn((const float *)q, (const float *)data_of(id), dim_size);
    }

    bool find_live(int64_t label, tableint &id) const {
        auto it = graph->label_lookup_.find((hnswlib::labeltype)label);
        if (it == graph->label_lookup_.end() || graph->isMarkedDeleted(it->second)) return false;
        id = it->second;
        return true;
    }
};

namespace {

// MARK: - Inserting: hnswlib's algorithm, arranged for memory
//
// A large build waits on memory, not arithmetic: every insert scores a few thousand elements
// scattered over a graph larger than the cache, and hnswlib's own insert fetches them one at a
// time (it prefetches the first cache line of the next neighbour only). It also keeps its beam in
// two binary heaps and holds a neighbour's lock while scoring the whole list. This insert is the
// same algorithm (greedy descent through the upper layers, a beam of efConstruction, the
// neighbour-selection heuristic, links made both ways under hnswlib's own locks, in hnswlib's
// lock order) with three changes:
// - a neighbour list is copied under its lock, and the lock released before anything is scored;
// - every cache line of every unvisited neighbour is prefetched before the first is scored, so
//   the misses overlap instead of queueing one behind another;
// - the beam is one sorted array with an "expanded" mark per entry.
// An element's level comes from a hash of its label and the seed rather than hnswlib's shared
// random generator, which concurrent inserts would otherwise use unsynchronised.

struct Scored {
    float dist;
    tableint id;
};

inline bool closer(const Scored &a, const Scored &b) { return a.dist < b.dist || (a.dist == b.dist && a.id < b.id); }

// Per-thread buffers, so an insert allocates nothing.
struct InsertBuffers {
    std::vector<Scored> beam;
    std::vector<uint8_t> expanded;
    std::vector<Scored> candidates;
    std::vector<Scored> selected;
    std::vector<Scored> chosen;
    std::vector<tableint> links;
    std::vector<tableint> fresh;
};

thread_local InsertBuffers insert_buffers;

inline void prefetch_range(const char *p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 3);
}

inline hnswlib::linklistsizeint *links_at(Graph *g, tableint id, int level) {
    return level == 0 ? g->get_linklist0(id) : g->get_linklist(id, level);
}

// Copies the links of `id` at `level` under its lock.
void copy_links(Graph *g, tableint id, int level, std::vector<tableint> &out) {
    std::unique_lock<std::mutex> lock(g->link_list_locks_[id]);
    hnswlib::linklistsizeint *list = links_at(g, id, level);
    size_t size = g->getListCount(list);
    const tableint *ids = (const tableint *)(list + 1);
    out.assign(ids, ids + size);
}

inline float dist_between(const chnsw_index *index, tableint a, tableint b) { return index->dist(index->data_of(a), b); }

int level_for(uint64_t seed, hnswlib::labeltype label, double mult) {
    uint64_t z = seed ^ ((uint64_t)label * 0x9E3779B97F4A7C15ull);  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 0.5) / 9007199254740992.0;  // in (0, 1)
    return (int)(-std::log(u) * mult);
}

// The `ef` elements nearest `point` found from `entry` at `level`, nearest first, in `beam`
// (deleted ones included: the caller drops them).
void search_layer(const chnsw_index *index, Graph *g, const void *point, tableint entry, int level, size_t ef,
                  InsertBuffers &b) {
    std::vector<Scored> &beam = b.beam;
    std::vector<uint8_t> &expanded = b.expanded;
    beam.clear();
    expanded.clear();
    hnswlib::VisitedList *visited = g->visited_list_pool_->getFreeVisitedList();
    hnswlib::vl_type *mark = visited->mass;
    hnswlib::vl_type tag = visited->curV;
    beam.push_back({index->dist(point, entry), entry});
    expanded.push_back(0);
    mark[entry] = tag;
    size_t cursor = 0;
    while (cursor < beam.size()) {
        expanded[cursor] = 1;
        copy_links(g, beam[cursor].id, level, b.links);
        b.fresh.clear();
        for (tableint id : b.links) {
            if (mark[id] == tag) continue;
            mark[id] = tag;
            b.fresh.push_back(id);
            prefetch_range(index->data_of(id), index->data_size());
        }
        size_t next = cursor + 1;
        for (size_t f = 0; f < b.fresh.size(); f++) {
            Scored s{index->dist(point, b.fresh[f]), b.fresh[f]};
            if (beam.size() >= ef && !closer(s, beam.back())) continue;
            size_t at = (size_t)(std::upper_bound(beam.begin(), beam.end(), s, closer) - beam.begin());
            if (beam.size() >= ef) {
                beam.pop_back();
                expanded.pop_back();
            }
            beam.insert(beam.begin() + (ptrdiff_t)at, s);
            expanded.insert(expanded.begin() + (ptrdiff_t)at, 0);
            if (at < next) next = at;
        }
        while (next < beam.size() && expanded[next]) next++;
        cursor = next;
    }
    g->visited_list_pool_->releaseVisitedList(visited);
}

// hnswlib's getNeighborsByHeuristic2 over `sorted` (nearest first): a candidate is kept unless a
// kept one is nearer to it than it is to the point, up to `m`; fewer than `m` are all kept.
void select_neighbours(const chnsw_index *index, const std::vector<Scored> &sorted, size_t m, std::vector<Scored> &out) {
    out.clear();
    if (sorted.size() < m) {
        out = sorted;
        return;
    }
    for (const Scored &c : sorted) {
        if (out.size() >= m) break;
        bool kept = true;
        for (const Scored &s : out) {
            if (dist_between(index, s.id, c.id) < c.dist) {
                kept = false;
                break;
            }
        }
        if (kept) out.push_back(c);
    }
}

// hnswlib's mutuallyConnectNewElement for a new element: links `cur` to the selected candidates
// and each of them back to it, pruning a full list with the heuristic. Returns the nearest
// selected element, where the next level's search starts.
tableint connect(const chnsw_index *index, Graph *g, tableint cur, int level, InsertBuffers &b) {
    size_t max_links = level ? g->maxM_ : g->maxM0_;
    select_neighbours(index, b.candidates, g->M_, b.chosen);
    const std::vector<Scored> &selected = b.chosen;  // b.candidates and b.selected are reused below
    hnswlib::linklistsizeint *own = links_at(g, cur, level);
    g->setListCount(own, (unsigned short)selected.size());
    tableint *own_ids = (tableint *)(own + 1);
    for (size_t i = 0; i < selected.size(); i++) {
        if (level > g->element_levels_[selected[i].id]) throw std::runtime_error("Trying to make a link on a non-existent level");
        own_ids[i] = selected[i].id;
    }
    for (const Scored &neighbour : selected) {
        std::unique_lock<std::mutex> lock(g->link_list_locks_[neighbour.id]);
        hnswlib::linklistsizeint *list = links_at(g, neighbour.id, level);
        size_t size = g->getListCount(list);
        if (size > max_links) throw std::runtime_error("Bad value of sz_link_list_other");
        tableint *ids = (tableint *)(list + 1);
        if (size < max_links) {
            ids[size] = cur;
            g->setListCount(list, (unsigned short)(size + 1));
            continue;
        }
        for (size_t j = 0; j < size; j++) prefetch_range(index->data_of(ids[j]), index->data_size());
        b.candidates.clear();
        b.candidates.push_back({neighbour.dist, cur});
        for (size_t j = 0; j < size; j++) b.candidates.push_back({dist_between(index, neighbour.id, ids[j]), ids[j]});
        std::sort(b.candidates.begin(), b.candidates.end(), closer);
        select_neighbours(index, b.candidates, max_links, b.selected);
        for (size_t j = 0; j < b.selected.size(); j++) ids[j] = b.selected[j].id;
        g->setListCount(list, (unsigned short)b.selected.size());
    }
    return selected.front().id;
}

// Adds `point` (in the stored form) as `label`. A label already present is updated by hnswlib's
// own path.
void insert(chnsw_index *index, const void *point, hnswlib::labeltype label) {
    Graph *g = index->graph;
    tableint cur;
    {
        std::unique_lock<std::mutex> guard(g->cur_element_count_guard_);
        if (g->label_lookup_.find(label) != g->label_lookup_.end()) {
            guard.unlock();
            g->addPoint(point, label);
            return;
        }
        if (g->cur_element_count >= g->max_elements_) throw std::runtime_error("The number of elements exceeds the specified limit");
        cur = (tableint)g->cur_element_count;
        g->cur_element_count++;
        g->label_lookup_[label] = cur;
    }
    std::unique_lock<std::mutex> update_lock(g->link_list_update_locks_[cur & (Graph::max_update_element_locks - 1)]);
    std::unique_lock<std::mutex> own_lock(g->link_list_locks_[cur]);
    int level = level_for(index->seed, label, g->mult_);
    g->element_levels_[cur] = level;
    std::unique_lock<std::mutex> top_lock(g->global);
    int max_level = g->maxlevel_;
    if (level <= max_level) top_lock.unlock();
    tableint entry = g->enterpoint_node_;

    std::memset(g->data_level0_memory_ + (size_t)cur * g->size_data_per_element_ + g->offsetLevel0_, 0, g->size_data_per_element_);
    std::memcpy(g->getExternalLabeLp(cur), &label, sizeof(hnswlib::labeltype));
    std::memcpy(g->getDataByInternalId(cur), point, g->data_size_);
    if (level > 0) {
        size_t bytes = g->size_links_per_element_ * (size_t)level + 1;
        g->linkLists_[cur] = (char *)std::malloc(bytes);
        if (g->linkLists_[cur] == nullptr) throw std::runtime_error("Not enough memory: addPoint failed to allocate linklist");
        std::memset(g->linkLists_[cur], 0, bytes);
    }

    if ((signed)entry == -1) {
        g->enterpoint_node_ = cur;
        g->maxlevel_ = level;
        return;
    }
    InsertBuffers &b = insert_buffers;
    tableint current = entry;
    if (level < max_level) {
        float current_dist = index->dist(point, current);
        for (int l = max_level; l > level; l--) {
            bool changed = true;
            while (changed) {
                changed = false;
                copy_links(g, current, l, b.links);
                for (tableint id : b.links) prefetch_range(index->data_of(id), index->data_size());
                for (tableint id : b.links) {
                    float d = index->dist(point, id);
                    if (d < current_dist) {
                        current_dist = d;
                        current = id;
                        changed = true;
                    }
                }
            }
        }
    }
    bool entry_deleted = g->isMarkedDeleted(entry);
    for (int l = std::min(level, max_level); l >= 0; l--) {
        search_layer(index, g, point, current, l, g->ef_construction_, b);
        b.candidates.clear();
        for (const Scored &s : b.beam)
            if (!g->isMarkedDeleted(s.id)) b.candidates.push_back(s);
        if (entry_deleted) {
            // As hnswlib: a deleted entry point is linked anyway, so the graph stays connected.
            Scored e{index->dist(point, entry), entry};
            b.candidates.insert(std::upper_bound(b.candidates.begin(), b.candidates.end(), e, closer), e);
            if (b.candidates.size() > g->ef_construction_) b.candidates.pop_back();
        }
        if (b.candidates.empty()) continue;
        current = connect(index, g, cur, l, b);
    }
    if (level > max_level) {
        g->enterpoint_node_ = cur;
        g->maxlevel_ = level;
    }
}

}  // namespace

extern "C" {

chnsw_index *chnsw_create(int dim, int compact, size_t capacity, int m, int ef_construction, uint64_t seed,
                          char *err, size_t err_len) {
    chnsw_index *index = nullptr;
    try {
        if (dim <= 0) throw std::runtime_error("dimension must be positive");
        index = new chnsw_index(dim, compact != 0, seed);
        index->graph = new Graph(index->space_in_use(), std::max<size_t>(capacity, 1), (size_t)m, (size_t)ef_construction,
                                 (size_t)seed);
        return index;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        delete index;
        return nullptr;
    }
}

chnsw_index *chnsw_load(const char *path, int dim, int compact, size_t capacity, char *err, size_t err_len) {
    chnsw_index *index = nullptr;
    try {
        if (dim <= 0) throw std::runtime_error("dimension must be positive");
        index = new chnsw_index(dim, compact != 0, 0x5EED);
        index->graph = new Graph(index->space_in_use());
        // hnswlib's loading constructor leaves these uninitialised.
        index->graph->num_deleted_ = 0;
        index->graph->metric_distance_computations = 0;
        index->graph->metric_hops = 0;
        index->graph->loadIndex(std::string(path), index->space_in_use(), capacity);
        // hnswlib takes the vector size from the space, not the file: the file's own layout says
        // how many bytes each stored vector has.
        if (index->graph->label_offset_ - index->graph->offsetData_ != index->data_size())
            throw std::runtime_error(compact ? "the saved index has another dimension, or full-precision vectors"
                                             : "the saved index has another dimension, or compact vectors");
        return index;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        delete index;
        return nullptr;
    }
}

int chnsw_save(chnsw_index *index, const char *path, char *err, size_t err_len) {
    try {
        index->graph->saveIndex(std::string(path));
        return 0;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        return 1;
    }
}

void chnsw_free(chnsw_index *index) { delete index; }

int chnsw_dim(const chnsw_index *index) { return index->dim; }
size_t chnsw_capacity(const chnsw_index *index) { return index->graph->max_elements_; }
size_t chnsw_element_count(const chnsw_index *index) { return index->graph->cur_element_count; }
size_t chnsw_deleted_count(const chnsw_index *index) { return index->graph->num_deleted_; }

int chnsw_resize(chnsw_index *index, size_t capacity, char *err, size_t err_len) {
    try {
        index->graph->resizeIndex(capacity);
        return 0;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        return 1;
    }
}

int chnsw_add(chnsw_index *index, const float *vector, int64_t label, char *err, size_t err_len) {
    try {
        Query stored(vector, (size_t)index->dim, index->compact);
        insert(index, stored.data, (hnswlib::labeltype)label);
        return 0;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        return 1;
    }
}

int chnsw_mark_deleted(chnsw_index *index, int64_t label) {
    tableint id;
    if (!index->find_live(label, id)) return 1;
    index->graph->markDeletedInternal(id);
    return 0;
}

int chnsw_contains(const chnsw_index *index, int64_t label) {
    tableint id;
    return index->find_live(label, id) ? 1 : 0;
}

int chnsw_get_vector(const chnsw_index *index, int64_t label, float *out) {
    tableint id;
    if (!index->find_live(label, id)) return 1;
    if (index->compact) {
        chnsw_dequantize_rows((const int8_t *)index->data_of(id), 1, index->dim, out);
    } else {
        std::memcpy(out, index->data_of(id), (size_t)index->dim * sizeof(float));
    }
    return 0;
}

int chnsw_stores_same(const chnsw_index *index, int64_t label, const float *vector) {
    tableint id;
    if (!index->find_live(label, id)) return 0;
    Query stored(vector, (size_t)index->dim, index->compact);
    return std::memcmp(stored.data, index->data_of(id), index->data_size()) == 0 ? 1 : 0;
}

int chnsw_is_compact(const chnsw_index *index) { return index->compact ? 1 : 0; }

size_t chnsw_sample_labels(const chnsw_index *index, size_t max, uint64_t seed, int64_t *out) {
    const Graph *g = index->graph;
    size_t total = g->cur_element_count;
    if (total == 0 || max == 0) return 0;
    size_t step = std::max<size_t>(1, total / max);
    size_t n = 0;
    for (size_t i = (size_t)(seed % step); i < total && n < max; i += step) {
        if (!g->isMarkedDeleted((tableint)i)) out[n++] = index->label_of((tableint)i);
    }
    return n;
}

size_t chnsw_search(const chnsw_index *index, const float *raw_query, size_t k, size_t ef,
                    chnsw_filter_fn filter, void *context, int64_t *labels, float *scores) {
    const Graph *g = index->graph;
    if (k == 0 || g->cur_element_count == 0) return 0;
    ef = std::max(ef, k);
    Query stored(raw_query, (size_t)index->dim, index->compact);
    const void *query = stored.data;

    // Greedy descent through the upper layers (as hnswlib's searchKnn).
    tableint current = g->enterpoint_node_;
    float current_dist = index->dist(query, current);
    for (int level = g->maxlevel_; level > 0; level--) {
        bool changed = true;
        while (changed) {
            changed = false;
            unsigned int *data = (unsigned int *)g->get_linklist(current, level);
            int size = g->getListCount(data);
            tableint *links = (tableint *)(data + 1);
            for (int i = 0; i < size; i++) {
                float d = index->dist(query, links[i]);
                if (d < current_dist) {
                    current_dist = d;
                    current = links[i];
                    changed = true;
                }
            }
        }
    }

    // Beam search of the base layer. Elements that are deleted or rejected by the filter are
    // walked through (they keep the graph connected) but never enter the result; while the
    // result holds fewer than ef elements the search keeps expanding (as hnswlib does with
    // deletions), so a filter makes it look further rather than come back short.
    const bool restricted = filter != nullptr || g->num_deleted_ > 0;
    typedef std::pair<float, tableint> Pair;
    std::priority_queue<Pair> top;                 // worst (largest distance) on top
    std::priority_queue<Pair> candidates;          // stores -distance: nearest on top
    hnswlib::VisitedList *visited = g->visited_list_pool_->getFreeVisitedList();
    hnswlib::vl_type *mark = visited->mass;
    hnswlib::vl_type tag = visited->curV;

    auto accepts = [&](tableint id) {
        if (g->isMarkedDeleted(id)) return false;
        return filter == nullptr || filter(context, index->label_of(id)) != 0;
    };

    float lower_bound;
    if (accepts(current)) {
        lower_bound = current_dist;
        top.emplace(current_dist, current);
    } else {
        lower_bound = std::numeric_limits<float>::max();
    }
    candidates.emplace(-current_dist, current);
    mark[current] = tag;

    while (!candidates.empty()) {
        Pair next = candidates.top();
        if (-next.first > lower_bound && (top.size() >= ef || !restricted)) break;
        candidates.pop();
        int *data = (int *)g->get_linklist0(next.second);
        size_t size = g->getListCount((hnswlib::linklistsizeint *)data);
        for (size_t j = 1; j <= size; j++) {
            tableint id = (tableint) * (data + j);
#if CHNSW_X86
            if (j < size) _mm_prefetch((const char *)index->data_of((tableint) * (data + j + 1)), _MM_HINT_T0);
#endif
            if (mark[id] == tag) continue;
            mark[id] = tag;
            float d = index->dist(query, id);
            if (top.size() < ef || lower_bound > d) {
                candidates.emplace(-d, id);
                if (accepts(id)) {
                    top.emplace(d, id);
                    if (top.size() > ef) top.pop();
                    lower_bound = top.top().first;
                }
            }
        }
    }
    g->visited_list_pool_->releaseVisitedList(visited);

    std::vector<Hit> hits;
    hits.reserve(top.size());
    while (!top.empty()) {
        hits.push_back({top.top().first, index->label_of(top.top().second)});
        top.pop();
    }
    return emit(hits, k, labels, scores);
}

size_t chnsw_scan(const chnsw_index *index, const float *raw_query, size_t k,
                  chnsw_filter_fn filter, void *context, int64_t *labels, float *scores) {
    const Graph *g = index->graph;
    if (k == 0) return 0;
    Query stored(raw_query, (size_t)index->dim, index->compact);
    const void *query = stored.data;
    std::vector<Hit> heap;  // max-heap by `better`: the worst kept on top
    heap.reserve(k + 1);
    size_t total = g->cur_element_count;
    for (size_t i = 0; i < total; i++) {
        tableint id = (tableint)i;
        if (g->isMarkedDeleted(id)) continue;
        int64_t label = index->label_of(id);
        if (filter != nullptr && filter(context, label) == 0) continue;
        Hit h{index->dist(query, id), label};
        if (heap.size() < k) {
            heap.push_back(h);
            std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(h, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = h;
            std::push_heap(heap.begin(), heap.end(), better);
        }
    }
    return emit(heap, k, labels, scores);
}

void chnsw_score_labels(const chnsw_index *index, const float *raw_query, const int64_t *labels,
                        size_t count, float *scores) {
    Query stored(raw_query, (size_t)index->dim, index->compact);
    const void *query = stored.data;
    for (size_t i = 0; i < count; i++) {
        tableint id;
        scores[i] = index->find_live(labels[i], id) ? 1.0f - index->dist(query, id)
                                                    : std::numeric_limits<float>::quiet_NaN();
    }
}

const char *chnsw_kernel_name(void) { return kernel().name; }

const char *chnsw_int8_kernel_name(void) { return chosen_i8.name; }

void chnsw_quantize_rows(const float *rows, size_t count, int dim, int8_t *out) {
    const size_t d = (size_t)dim, stride = d + sizeof(float);
    for (size_t i = 0; i < count; i++) quantize(rows + i * d, d, out + i * stride);
}

void chnsw_dequantize_rows(const int8_t *rows, size_t count, int dim, float *out) {
    const size_t d = (size_t)dim, stride = d + sizeof(float);
    for (size_t i = 0; i < count; i++) {
        const int8_t *q = rows + i * stride;
        float scale = stored_scale(q, d);
        for (size_t j = 0; j < d; j++) out[i * d + j] = scale * (float)q[j];
    }
}

int chnsw_add_stored(chnsw_index *index, const int8_t *stored, int64_t label, char *err, size_t err_len) {
    try {
        if (!index->compact) throw std::runtime_error("rows in the compact stored form go into a compact index only");
        insert(index, stored, (hnswlib::labeltype)label);
        return 0;
    } catch (const std::exception &e) {
        set_error(err, err_len, e.what());
        return 1;
    }
}

void chnsw_score_compact_rows(const int8_t *rows, size_t count, int dim, const float *query, float *out) {
    const size_t d = (size_t)dim, stride = d + sizeof(float);
    std::vector<int8_t> q(stride);
    quantize(query, d, q.data());
    const float query_scale = stored_scale(q.data(), d);
    for (size_t i = 0; i < count; i++) {
        const int8_t *row = rows + i * stride;
        out[i] = query_scale * stored_scale(row, d) * (float)chosen_i8_kernel(q.data(), row, d);
    }
}

}  // extern "C"
