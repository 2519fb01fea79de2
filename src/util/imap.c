/* imap.c — int64 → pointer hash map (see imap.h). */
#include "util/imap.h"

#include <stdlib.h>

struct imap_slot {
    int64_t key; /* 0 = empty */
    void *value;
};

struct imap {
    struct imap_slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

static size_t imap_hash(int64_t key, size_t cap) {
    uint64_t x = (uint64_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)(x & (cap - 1));
}

imap *imap_new(void) {
    imap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void imap_free(imap *m) {
    if (m) {
        free(m->slots);
        free(m);
    }
}

static size_t imap_find(const imap *m, int64_t key) {
    size_t i = imap_hash(key, m->cap);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void *imap_get(const imap *m, int64_t key) {
    if (key == 0)
        return NULL;
    size_t i = imap_find(m, key);
    return m->slots[i].key ? m->slots[i].value : NULL;
}

static int imap_grow(imap *m) {
    struct imap_slot *old = m->slots;
    size_t old_cap = m->cap;
    struct imap_slot *slots = calloc(old_cap * 2, sizeof *slots);
    if (!slots)
        return -1;
    m->slots = slots;
    m->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            m->slots[imap_find(m, old[i].key)] = old[i];
    free(old);
    return 0;
}

int imap_replace(imap *m, int64_t key, void *value) {
    if (key == 0 || m->cap == 0)
        return -1;
    size_t i = imap_find(m, key);
    if (m->slots[i].key != key)
        return -1;
    m->slots[i].value = value;
    return 0;
}

int imap_put(imap *m, int64_t key, void *value) {
    if (key == 0)
        return -1;
    if ((m->count + 1) * 10 > m->cap * 7 && imap_grow(m) != 0)
        return -1;
    size_t i = imap_find(m, key);
    if (!m->slots[i].key)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return 0;
}

void *imap_del(imap *m, int64_t key) {
    if (key == 0)
        return NULL;
    size_t i = imap_find(m, key), mask = m->cap - 1;
    if (!m->slots[i].key)
        return NULL;
    void *value = m->slots[i].value;
    /* Backward shift: move later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = imap_hash(m->slots[j].key, m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->slots[i].value = NULL;
    m->count--;
    return value;
}

size_t imap_count(const imap *m) {
    return m->count;
}

void imap_each(const imap *m, void (*fn)(void *ctx, int64_t key, void *value), void *ctx) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            fn(ctx, m->slots[i].key, m->slots[i].value);
}
