/* ratelimit.c — bounded sliding-log rate limiter: per key, a ring of its last max_events event
 * times, in a chained hash table (SipHash-2-4 with a per-instance random key) threaded on an LRU
 * list, so that at most max_keys keys exist and the least recently used one is evicted first.
 * Owns its entries and their key copies; every call is O(1) (plus hashing the key).
 * Must not: grow past max_keys, log keys (they are emails and addresses), block, or be shared
 * between threads.
 */
#include "auth/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define RATELIMIT_MAX_EVENTS 1024

struct rl_entry {
    struct rl_entry *chain;       /* next in the same bucket */
    struct rl_entry *prev, *next; /* LRU list: prev is more recently used */
    uint64_t hash;
    unsigned head, count; /* ring: index of the oldest time, number of times held */
    size_t key_len;
    int digest;       /* the stored key is the BLAKE2b digest of a key over RATELIMIT_KEY_MAX */
    uint64_t times[]; /* max_events times, then key_len key bytes */
};

struct ratelimit {
    struct rl_entry **buckets;
    size_t mask; /* bucket count - 1 (a power of two) */
    struct rl_entry *mru, *lru;
    size_t keys, max_keys;
    unsigned max_events;
    uint64_t window_ms;
    unsigned char sipkey[crypto_shorthash_KEYBYTES];
};

/* A key as it is stored: the caller's bytes, or their digest when they are too long. */
struct rl_key {
    const unsigned char *bytes;
    size_t len;
    int digest;
    uint64_t hash;
    unsigned char buf[crypto_generichash_BYTES];
};

/* ---- keys and the table ----------------------------------------------------------------- */

static void rl_key_make(const ratelimit *rl, const char *key, size_t len, struct rl_key *k) {
    unsigned char h[crypto_shorthash_BYTES];
    k->bytes = (const unsigned char *)(key ? key : "");
    k->len = len;
    k->digest = len > RATELIMIT_KEY_MAX;
    if (k->digest) {
        crypto_generichash(k->buf, sizeof k->buf, k->bytes, (unsigned long long)len, NULL, 0);
        k->bytes = k->buf;
        k->len = sizeof k->buf;
    }
    crypto_shorthash(h, k->bytes, k->len, rl->sipkey);
    memcpy(&k->hash, h, sizeof k->hash);
}

static unsigned char *rl_entry_key(const ratelimit *rl, struct rl_entry *e) {
    return (unsigned char *)(e->times + rl->max_events);
}

static struct rl_entry *rl_find(const ratelimit *rl, const struct rl_key *k) {
    for (struct rl_entry *e = rl->buckets[k->hash & rl->mask]; e; e = e->chain)
        if (e->hash == k->hash && e->digest == k->digest && e->key_len == k->len &&
            memcmp(rl_entry_key(rl, e), k->bytes, k->len) == 0)
            return e;
    return NULL;
}

static void rl_lru_unlink(ratelimit *rl, struct rl_entry *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        rl->mru = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        rl->lru = e->prev;
    e->prev = e->next = NULL;
}

static void rl_lru_push(ratelimit *rl, struct rl_entry *e) {
    e->prev = NULL;
    e->next = rl->mru;
    if (rl->mru)
        rl->mru->prev = e;
    else
        rl->lru = e;
    rl->mru = e;
}

static void rl_touch(ratelimit *rl, struct rl_entry *e) {
    if (rl->mru != e) {
        rl_lru_unlink(rl, e);
        rl_lru_push(rl, e);
    }
}

static void rl_remove(ratelimit *rl, struct rl_entry *e) {
    struct rl_entry **pp = &rl->buckets[e->hash & rl->mask];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    rl_lru_unlink(rl, e);
    rl->keys--;
    free(e);
}

/* A new, empty entry for k (evicting the least recently used key when full), or NULL. */
static struct rl_entry *rl_insert(ratelimit *rl, const struct rl_key *k) {
    if (rl->keys >= rl->max_keys)
        rl_remove(rl, rl->lru);
    struct rl_entry *e = malloc(sizeof *e + (size_t)rl->max_events * sizeof e->times[0] + k->len);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->hash = k->hash;
    e->key_len = k->len;
    e->digest = k->digest;
    memcpy(rl_entry_key(rl, e), k->bytes, k->len);
    size_t b = k->hash & rl->mask;
    e->chain = rl->buckets[b];
    rl->buckets[b] = e;
    rl_lru_push(rl, e);
    rl->keys++;
    return e;
}

/* ---- public API ------------------------------------------------------------------------- */

ratelimit *ratelimit_new(size_t max_keys, unsigned max_events, uint64_t window_ms) {
    if (max_keys == 0 || max_keys > SIZE_MAX / 4 || max_events == 0 ||
        max_events > RATELIMIT_MAX_EVENTS || window_ms == 0 || sodium_init() < 0)
        return NULL;
    size_t nb = 1;
    while (nb < max_keys)
        nb <<= 1;
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl || !(rl->buckets = calloc(nb, sizeof *rl->buckets))) {
        free(rl);
        return NULL;
    }
    rl->mask = nb - 1;
    rl->max_keys = max_keys;
    rl->max_events = max_events;
    rl->window_ms = window_ms;
    crypto_shorthash_keygen(rl->sipkey);
    return rl;
}

void ratelimit_free(ratelimit *rl) {
    if (!rl)
        return;
    while (rl->lru)
        rl_remove(rl, rl->lru);
    free(rl->buckets);
    sodium_memzero(rl->sipkey, sizeof rl->sipkey);
    free(rl);
}

uint64_t ratelimit_check(ratelimit *rl, const char *key, size_t key_len, uint64_t now) {
    struct rl_key k;
    if (!rl || (!key && key_len))
        return 0;
    rl_key_make(rl, key, key_len, &k);
    struct rl_entry *e = rl_find(rl, &k);
    if (!e)
        return 0;
    rl_touch(rl, e);
    if (e->count < rl->max_events)
        return 0;
    uint64_t oldest = e->times[e->head];
    if (now < oldest) /* a clock that went back: wait a whole window */
        return rl->window_ms;
    return now - oldest >= rl->window_ms ? 0 : oldest + rl->window_ms - now;
}

void ratelimit_hit(ratelimit *rl, const char *key, size_t key_len, uint64_t now) {
    struct rl_key k;
    if (!rl || (!key && key_len))
        return;
    rl_key_make(rl, key, key_len, &k);
    struct rl_entry *e = rl_find(rl, &k);
    if (e)
        rl_touch(rl, e);
    else if (!(e = rl_insert(rl, &k)))
        return; /* out of memory: the event goes unrecorded */
    if (e->count < rl->max_events) {
        e->times[(e->head + e->count) % rl->max_events] = now;
        e->count++;
    } else {
        e->times[e->head] = now;
        e->head = (e->head + 1) % rl->max_events;
    }
}

void ratelimit_reset(ratelimit *rl, const char *key, size_t key_len) {
    struct rl_key k;
    if (!rl || (!key && key_len))
        return;
    rl_key_make(rl, key, key_len, &k);
    struct rl_entry *e = rl_find(rl, &k);
    if (e)
        rl_remove(rl, e);
}

size_t ratelimit_keys(const ratelimit *rl) {
    return rl ? rl->keys : 0;
}
