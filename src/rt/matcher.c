/* matcher.c — the random-matching queues of SPEC §4 as pure logic (see matcher.h for the rules).
 * Owns the waiting entries: each sits on three intrusive lists kept in enqueue order (all users,
 * its category's queue, the fallback users) and in an open-addressing table user id → entry.
 * Each entry keeps the ids it must never meet as a sorted array (binary search).
 * Must not: do I/O, read a clock, allocate while pairing, or be used off the loop thread.
 */
#include "rt/matcher.h"

#include <stdlib.h>
#include <string.h>

#define MATCHER_SLOTS_MIN 64 /* initial hash table size (a power of two) */

enum { MATCHER_ALL, MATCHER_QUEUE, MATCHER_FALLBACK, MATCHER_LINKS };

struct matcher_entry;

struct matcher_link {
    struct matcher_entry *prev, *next;
};

struct matcher_list {
    struct matcher_entry *head, *tail;
    size_t count;
};

struct matcher_entry {
    int64_t user_id;
    int64_t previous_partner; /* 0 = none */
    uint64_t since_ms;
    uint64_t seq; /* enqueue order: every list is sorted by it */
    int category;
    int fallback_any;
    struct matcher_link link[MATCHER_LINKS];
    int64_t *avoid; /* sorted, unique: ids never to pair with (blocks either way) */
    size_t avoid_count, avoid_cap;
};

struct matcher {
    size_t category_count;
    struct matcher_list all;      /* everyone waiting, oldest first */
    struct matcher_list fallback; /* those with fallback_any, oldest first */
    struct matcher_list *queues;  /* one per category, oldest first */
    size_t *fallback_counts;      /* fallback users per category */
    struct matcher_entry **slots; /* user id → entry, linear probing, at most half full */
    size_t slot_mask;
    struct matcher_entry *fresh; /* first entry enqueued since the last run: a suffix of all */
    uint64_t seq, last_now;
    uint64_t rescan_at; /* a time rule comes due: full scan at or after it (0 = none) */
    int rescan;         /* an entry changed in place: next run scans everything */
};

/* ---- lists ---- */

static void matcher_list_append(struct matcher_list *l, struct matcher_entry *e, int k) {
    e->link[k].prev = l->tail;
    e->link[k].next = NULL;
    if (l->tail)
        l->tail->link[k].next = e;
    else
        l->head = e;
    l->tail = e;
    l->count++;
}

/* Inserts e by seq, walking back from the tail (used when an entry turns fallback in place). */
static void matcher_list_insert(struct matcher_list *l, struct matcher_entry *e, int k) {
    struct matcher_entry *after = l->tail;
    while (after && after->seq > e->seq)
        after = after->link[k].prev;
    struct matcher_entry *before = after ? after->link[k].next : l->head;
    e->link[k].prev = after;
    e->link[k].next = before;
    if (after)
        after->link[k].next = e;
    else
        l->head = e;
    if (before)
        before->link[k].prev = e;
    else
        l->tail = e;
    l->count++;
}

static void matcher_list_unlink(struct matcher_list *l, struct matcher_entry *e, int k) {
    struct matcher_entry *prev = e->link[k].prev, *next = e->link[k].next;
    if (prev)
        prev->link[k].next = next;
    else
        l->head = next;
    if (next)
        next->link[k].prev = prev;
    else
        l->tail = prev;
    e->link[k].prev = e->link[k].next = NULL;
    l->count--;
}

/* ---- user id → entry ---- */

static size_t matcher_hash(int64_t id) {
    uint64_t x = (uint64_t)id; /* splitmix64 finalizer: ids are sequential, spread them */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t matcher_slot_of(const matcher *m, int64_t id) {
    size_t i = matcher_hash(id) & m->slot_mask;
    while (m->slots[i] && m->slots[i]->user_id != id)
        i = (i + 1) & m->slot_mask;
    return i;
}

static struct matcher_entry *matcher_find(const matcher *m, int64_t id) {
    return m->slots[matcher_slot_of(m, id)];
}

/* Doubles the table when one more entry would make it more than half full. */
static int matcher_slots_reserve(matcher *m) {
    size_t size = m->slot_mask + 1;
    if ((m->all.count + 1) * 2 <= size)
        return 0;
    struct matcher_entry **old = m->slots;
    m->slots = calloc(size * 2, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return -1;
    }
    m->slot_mask = size * 2 - 1;
    for (size_t i = 0; i < size; i++)
        if (old[i])
            m->slots[matcher_slot_of(m, old[i]->user_id)] = old[i];
    free(old);
    return 0;
}

/* Removes id by backward shift: later entries of the probe run move into the hole when their
 * home slot lies at or before it, so lookups never need tombstones. */
static void matcher_slot_delete(matcher *m, int64_t id) {
    size_t hole = matcher_slot_of(m, id), j = hole;
    if (!m->slots[hole])
        return;
    for (;;) {
        j = (j + 1) & m->slot_mask;
        if (!m->slots[j])
            break;
        size_t home = matcher_hash(m->slots[j]->user_id) & m->slot_mask;
        if (((j - home) & m->slot_mask) >= ((j - hole) & m->slot_mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = NULL;
}

/* ---- ids to avoid ---- */

static int matcher_id_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A sorted, unique copy of the first MATCH_BLOCKS_MAX ids (NULL and 0 when there are none). */
static int matcher_avoid_build(const int64_t *ids, size_t n, int64_t **out, size_t *count) {
    *out = NULL;
    *count = 0;
    if (n > MATCH_BLOCKS_MAX)
        n = MATCH_BLOCKS_MAX;
    if (n == 0 || !ids)
        return 0;
    int64_t *a = malloc(n * sizeof *a);
    if (!a)
        return -1;
    memcpy(a, ids, n * sizeof *a);
    qsort(a, n, sizeof *a, matcher_id_cmp);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[u - 1])
            a[u++] = a[i];
    *out = a;
    *count = u;
    return 0;
}

/* Index of the first id in e's set that is not below id. */
static size_t matcher_avoid_lower(const struct matcher_entry *e, int64_t id) {
    size_t lo = 0, hi = e->avoid_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->avoid[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int matcher_avoids(const struct matcher_entry *e, int64_t id) {
    size_t i = matcher_avoid_lower(e, id);
    return i < e->avoid_count && e->avoid[i] == id;
}

/* Adds id to e's sorted set: 0 when it is there afterwards, -1 when full or out of memory. */
static int matcher_avoid_add(struct matcher_entry *e, int64_t id) {
    size_t i = matcher_avoid_lower(e, id);
    if (i < e->avoid_count && e->avoid[i] == id)
        return 0;
    if (e->avoid_count == MATCH_BLOCKS_MAX)
        return -1;
    if (e->avoid_count == e->avoid_cap) {
        size_t cap = e->avoid_cap ? e->avoid_cap * 2 : 8;
        cap = cap > MATCH_BLOCKS_MAX ? MATCH_BLOCKS_MAX : cap;
        int64_t *a = realloc(e->avoid, cap * sizeof *a);
        if (!a)
            return -1;
        e->avoid = a;
        e->avoid_cap = cap;
    }
    memmove(e->avoid + i + 1, e->avoid + i, (e->avoid_count - i) * sizeof *e->avoid);
    e->avoid[i] = id;
    e->avoid_count++;
    return 0;
}

static void matcher_avoid_replace(struct matcher_entry *e, int64_t *ids, size_t count) {
    free(e->avoid);
    e->avoid = ids;
    e->avoid_count = e->avoid_cap = count;
}

/* ---- entries on the lists ---- */

static void matcher_link_entry(matcher *m, struct matcher_entry *e) {
    matcher_list_append(&m->all, e, MATCHER_ALL);
    matcher_list_append(&m->queues[e->category], e, MATCHER_QUEUE);
    if (e->fallback_any) {
        matcher_list_append(&m->fallback, e, MATCHER_FALLBACK);
        m->fallback_counts[e->category]++;
    }
    if (!m->fresh)
        m->fresh = e;
}

static void matcher_unlink_entry(matcher *m, struct matcher_entry *e) {
    if (m->fresh == e)
        m->fresh = e->link[MATCHER_ALL].next;
    matcher_list_unlink(&m->all, e, MATCHER_ALL);
    matcher_list_unlink(&m->queues[e->category], e, MATCHER_QUEUE);
    if (e->fallback_any) {
        matcher_list_unlink(&m->fallback, e, MATCHER_FALLBACK);
        m->fallback_counts[e->category]--;
    }
}

/* Takes e out of everything and frees it. */
static void matcher_drop(matcher *m, struct matcher_entry *e) {
    matcher_unlink_entry(m, e);
    matcher_slot_delete(m, e->user_id);
    free(e->avoid);
    free(e);
}

/* Sets where and since when e waits, as a new arrival at the tail of every list. */
static void matcher_place(matcher *m, struct matcher_entry *e, int category, int fallback_any,
                          uint64_t now_ms) {
    e->category = category;
    e->fallback_any = fallback_any;
    e->since_ms = now_ms;
    e->seq = ++m->seq;
    matcher_link_entry(m, e);
}

/* Same queue again: keeps the place, takes the new settings, and has the next run rescan. */
static void matcher_update(matcher *m, struct matcher_entry *e, int fallback_any) {
    if (e->fallback_any && !fallback_any) {
        matcher_list_unlink(&m->fallback, e, MATCHER_FALLBACK);
        m->fallback_counts[e->category]--;
    } else if (!e->fallback_any && fallback_any) {
        matcher_list_insert(&m->fallback, e, MATCHER_FALLBACK);
        m->fallback_counts[e->category]++;
    }
    e->fallback_any = fallback_any;
    m->rescan = 1;
}

/* A new entry for a user who is not waiting; the table already has room. */
static struct matcher_entry *matcher_add_entry(matcher *m, int64_t user_id) {
    struct matcher_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->user_id = user_id;
    m->slots[matcher_slot_of(m, user_id)] = e;
    return e;
}

/* ---- public: lifetime ---- */

matcher *matcher_new(size_t category_count) {
    if (category_count == 0 || category_count > (size_t)MATCH_WAITING_MAX)
        return NULL;
    matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->category_count = category_count;
    m->queues = calloc(category_count, sizeof *m->queues);
    m->fallback_counts = calloc(category_count, sizeof *m->fallback_counts);
    m->slots = calloc(MATCHER_SLOTS_MIN, sizeof *m->slots);
    m->slot_mask = MATCHER_SLOTS_MIN - 1;
    if (!m->queues || !m->fallback_counts || !m->slots) {
        matcher_free(m);
        return NULL;
    }
    return m;
}

void matcher_free(matcher *m) {
    if (!m)
        return;
    for (struct matcher_entry *e = m->all.head, *next; e; e = next) {
        next = e->link[MATCHER_ALL].next;
        free(e->avoid);
        free(e);
    }
    free(m->queues);
    free(m->fallback_counts);
    free(m->slots);
    free(m);
}

/* ---- public: queue changes ---- */

static uint64_t matcher_clamp_now(matcher *m, uint64_t now_ms) {
    if (now_ms < m->last_now)
        return m->last_now;
    m->last_now = now_ms;
    return now_ms;
}

int matcher_enqueue(matcher *m, int64_t user_id, int category, int fallback_any,
                    int64_t previous_partner, const int64_t *blocked, size_t blocked_count,
                    uint64_t now_ms) {
    if (!m || category < 0 || (size_t)category >= m->category_count)
        return -1;
    struct matcher_entry *e = matcher_find(m, user_id);
    int waiting = e != NULL;
    int64_t *avoid;
    size_t avoid_count;
    if (!waiting && (m->all.count >= MATCH_WAITING_MAX || matcher_slots_reserve(m) < 0))
        return -1;
    if (matcher_avoid_build(blocked, blocked_count, &avoid, &avoid_count) < 0)
        return -1;
    if (!waiting && !(e = matcher_add_entry(m, user_id))) {
        free(avoid);
        return -1;
    }
    now_ms = matcher_clamp_now(m, now_ms);
    matcher_avoid_replace(e, avoid, avoid_count);
    e->previous_partner = previous_partner;
    if (waiting && e->category == category) {
        matcher_update(m, e, fallback_any != 0);
        return 0;
    }
    if (waiting)
        matcher_unlink_entry(m, e);
    matcher_place(m, e, category, fallback_any != 0, now_ms);
    return 0;
}

int matcher_remove(matcher *m, int64_t user_id) {
    struct matcher_entry *e = m ? matcher_find(m, user_id) : NULL;
    if (!e)
        return 0;
    matcher_drop(m, e);
    return 1;
}

void matcher_add_block(matcher *m, int64_t blocker, int64_t blocked_id) {
    if (!m || blocker == blocked_id)
        return;
    struct matcher_entry *a = matcher_find(m, blocker), *b = matcher_find(m, blocked_id);
    if (a && matcher_avoid_add(a, blocked_id) == 0)
        return;
    if (b)
        (void)matcher_avoid_add(b, blocker);
}

/* ---- public: reading ---- */

int matcher_lookup(const matcher *m, int64_t user_id, struct matcher_entry_info *info) {
    const struct matcher_entry *e = m ? matcher_find(m, user_id) : NULL;
    if (!e)
        return 0;
    if (info) {
        info->user_id = e->user_id;
        info->category = e->category;
        info->fallback_any = e->fallback_any;
        info->since_ms = e->since_ms;
    }
    return 1;
}

size_t matcher_waiting(const matcher *m, int category) {
    if (!m)
        return 0;
    if (category == -1)
        return m->all.count;
    if (category < 0 || (size_t)category >= m->category_count)
        return 0;
    return m->queues[category].count;
}

/* ---- the rules ---- */

static int matcher_were_partners(const struct matcher_entry *a, const struct matcher_entry *b) {
    return (a->previous_partner != 0 && a->previous_partner == b->user_id) ||
           (b->previous_partner != 0 && b->previous_partner == a->user_id);
}

/* Rule 3 for two distinct waiting users at now (categories are the caller's business). */
static int matcher_may_pair(const matcher *m, const struct matcher_entry *a,
                            const struct matcher_entry *b, uint64_t now) {
    if (a == b || matcher_avoids(a, b->user_id) || matcher_avoids(b, a->user_id))
        return 0;
    if (!matcher_were_partners(a, b))
        return 1;
    return m->all.count == 2 && now - a->since_ms >= MATCH_PREVIOUS_AFTER_MS &&
           now - b->since_ms >= MATCH_PREVIOUS_AFTER_MS;
}

/* Rule 2: e may look in other queues now. */
static int matcher_fallback_ready(const struct matcher_entry *e, uint64_t now) {
    return e->fallback_any && now - e->since_ms >= MATCH_FALLBACK_AFTER_MS;
}

/* Full scan: u's partner among those younger than u (the older ones already had their turn and
 * either paired elsewhere or cannot meet u). Same queue first, then fallback. */
static struct matcher_entry *matcher_partner_after(const matcher *m, struct matcher_entry *u,
                                                   uint64_t now) {
    struct matcher_entry *p;
    for (p = u->link[MATCHER_QUEUE].next; p; p = p->link[MATCHER_QUEUE].next)
        if (matcher_may_pair(m, u, p, now))
            return p;
    if (!matcher_fallback_ready(u, now))
        return NULL;
    for (p = u->link[MATCHER_FALLBACK].next; p; p = p->link[MATCHER_FALLBACK].next)
        if (p->category != u->category && matcher_may_pair(m, u, p, now))
            return p;
    return NULL;
}

/* New arrival n: the oldest waiting user older than n for whom n is a partner (everyone older
 * already waits unpaired, so n is the only partner any of them can have now). */
static struct matcher_entry *matcher_partner_before(const matcher *m, struct matcher_entry *n,
                                                    uint64_t now) {
    struct matcher_entry *same = NULL, *other = NULL, *p;
    for (p = m->queues[n->category].head; p != n; p = p->link[MATCHER_QUEUE].next)
        if (matcher_may_pair(m, p, n, now)) {
            same = p;
            break;
        }
    for (p = n->fallback_any ? m->fallback.head : n; p != n; p = p->link[MATCHER_FALLBACK].next) {
        if (!matcher_fallback_ready(p, now) || (same && p->seq > same->seq))
            break; /* everyone further on waited less, or is younger than same */
        if (p->category != n->category && matcher_may_pair(m, p, n, now)) {
            other = p;
            break;
        }
    }
    return other ? other : same;
}

/* Removes both, then reports the pair (a is the older). */
static void matcher_pair(matcher *m, struct matcher_entry *a, struct matcher_entry *b,
                         matcher_pair_fn on_pair, void *ctx) {
    int64_t ida = a->user_id, idb = b->user_id;
    int category = a->category;
    matcher_drop(m, a);
    matcher_drop(m, b);
    if (on_pair)
        on_pair(ctx, ida, idb, category);
}

/* Oldest first, each user takes their first partner; pairing others never opens a new partner
 * for a user already passed over, except the previous-partner rule (run checks that after). */
static size_t matcher_scan_all(matcher *m, uint64_t now, matcher_pair_fn on_pair, void *ctx) {
    size_t made = 0;
    struct matcher_entry *u = m->all.head, *next, *p;
    for (; u; u = next) {
        next = u->link[MATCHER_ALL].next;
        if (!(p = matcher_partner_after(m, u, now)))
            continue;
        if (next == p)
            next = p->link[MATCHER_ALL].next;
        matcher_pair(m, u, p, on_pair, ctx);
        made++;
    }
    return made;
}

/* Only the arrivals since the last run, in order: each against those waiting before it. */
static size_t matcher_scan_fresh(matcher *m, uint64_t now, matcher_pair_fn on_pair, void *ctx) {
    size_t made = 0;
    struct matcher_entry *n = m->fresh, *next, *p;
    for (; n; n = next) {
        next = n->link[MATCHER_ALL].next;
        if (!(p = matcher_partner_before(m, n, now)))
            continue;
        matcher_pair(m, p, n, on_pair, ctx);
        made++;
    }
    return made;
}

size_t matcher_run(matcher *m, uint64_t now_ms, matcher_pair_fn on_pair, void *ctx) {
    if (!m)
        return 0;
    uint64_t now = matcher_clamp_now(m, now_ms);
    size_t made;
    if (m->rescan || (m->rescan_at && now >= m->rescan_at))
        made = matcher_scan_all(m, now, on_pair, ctx);
    else
        made = matcher_scan_fresh(m, now, on_pair, ctx);
    if (m->all.count == 2) /* previous partners left alone may meet now */
        made += matcher_scan_all(m, now, on_pair, ctx);
    m->fresh = NULL;
    m->rescan = 0;
    m->rescan_at = matcher_next_deadline(m, now);
    return made;
}

/* ---- deadlines ---- */

/* The earliest 10 s mark still ahead, of a fallback user with fallback users in other queues. */
static uint64_t matcher_fallback_deadline(const matcher *m, uint64_t now) {
    for (const struct matcher_entry *e = m->fallback.head; e; e = e->link[MATCHER_FALLBACK].next) {
        uint64_t at = e->since_ms + MATCH_FALLBACK_AFTER_MS;
        if (at > now && m->fallback.count > m->fallback_counts[e->category])
            return at;
    }
    return 0;
}

/* Two previous partners alone, able to meet otherwise: the younger one's 30 s mark. */
static uint64_t matcher_previous_deadline(const matcher *m, uint64_t now) {
    if (m->all.count != 2)
        return 0;
    const struct matcher_entry *a = m->all.head, *b = a->link[MATCHER_ALL].next;
    if (!matcher_were_partners(a, b) || matcher_avoids(a, b->user_id) ||
        matcher_avoids(b, a->user_id))
        return 0;
    if (a->category != b->category && !(a->fallback_any && b->fallback_any))
        return 0;
    uint64_t at = b->since_ms + MATCH_PREVIOUS_AFTER_MS;
    return at > now ? at : 0;
}

uint64_t matcher_next_deadline(const matcher *m, uint64_t now_ms) {
    if (!m)
        return 0;
    uint64_t now = now_ms < m->last_now ? m->last_now : now_ms;
    uint64_t fallback = matcher_fallback_deadline(m, now);
    uint64_t previous = matcher_previous_deadline(m, now);
    if (!fallback || (previous && previous < fallback))
        return previous;
    return fallback;
}
