/* util.c — small helpers of the relay tool: monotonic time, fatal errors, the tokens file,
 * VmRSS from /proc, latency samples with percentiles, and an int64 → int open-addressing map.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

uint64_t now_ns(void) {
    return uv_hrtime();
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "relay: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        fatal("out of memory");
    return p;
}

/* ---- tokens file: one access token a line ---- */

static char *token_dup(const char *line) {
    size_t len = strcspn(line, "\r\n");
    if (len == 0 || len >= RELAY_TOKEN_MAX)
        return NULL;
    char *t = xcalloc(1, len + 1);
    memcpy(t, line, len);
    return t;
}

char **tokens_load(const char *path, int first, int count) {
    FILE *f = fopen(path, "r");
    if (!f)
        fatal("cannot open tokens file %s", path);
    char **tokens = xcalloc((size_t)count, sizeof *tokens);
    char line[RELAY_TOKEN_MAX + 2];
    int index = 0, got = 0;
    while (got < count && index < first + count && fgets(line, sizeof line, f)) {
        if (index++ < first)
            continue;
        if (!(tokens[got] = token_dup(line)))
            fatal("bad token on line %d of %s", index, path);
        got++;
    }
    fclose(f);
    if (got < count)
        fatal("%s has %d tokens from index %d; %d needed", path, got, first, count);
    return tokens;
}

void tokens_free(char **tokens, int count) {
    for (int i = 0; tokens && i < count; i++)
        free(tokens[i]);
    free(tokens);
}

long proc_rss_kib(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU seconds (user + system) of a process (tid 0) or of one of its threads; -1 if unreadable. */
double proc_cpu_seconds(int pid, int tid) {
    char path[96], line[1024];
    if (tid)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL; /* the command name may hold blanks */
    unsigned long long utime, stime;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- latency samples ---- */

void samples_add(struct samples *s, uint64_t ns) {
    if (s->n == s->cap) {
        if (s->cap >= RELAY_MAX_SAMPLES)
            return;
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            fatal("out of memory for samples");
        s->v = v;
        s->cap = cap;
    }
    uint64_t us = ns / 1000;
    s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const struct samples *s, double p) {
    size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->v[i < s->n ? i : s->n - 1];
}

void samples_summary(struct samples *s, double out[4]) {
    memset(out, 0, 4 * sizeof *out);
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    out[0] = percentile(s, 0.50);
    out[1] = percentile(s, 0.90);
    out[2] = percentile(s, 0.99);
    out[3] = s->v[s->n - 1];
}

void samples_free(struct samples *s) {
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- id map (keys are positive ids; 0 marks an empty slot) ---- */

void idmap_init(struct idmap *m, size_t expected) {
    m->cap = 64;
    while (m->cap < expected * 2 + 1)
        m->cap *= 2;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
}

static size_t idmap_slot(const struct idmap *m, int64_t key) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    for (size_t probes = 0; probes < m->cap; probes++, i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key || m->keys[i] == 0)
            return i;
    fatal("id map full");
}

void idmap_put(struct idmap *m, int64_t key, int val) {
    if (key <= 0)
        return;
    size_t i = idmap_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
}

int idmap_get(const struct idmap *m, int64_t key, int missing) {
    if (key <= 0)
        return missing;
    size_t i = idmap_slot(m, key);
    return m->keys[i] == key ? m->vals[i] : missing;
}

void idmap_free(struct idmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
