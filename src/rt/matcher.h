/* matcher.h — random matching as pure logic (SPEC §4 matching rules 1–3): one queue per category,
 * longest-waiting first; fallbackAny pairs across categories after MATCH_FALLBACK_AFTER_MS;
 * never self, never two users where either blocked the other, never the partner of a user's
 * previous chat unless those two are the only ones waiting and both waited MATCH_PREVIOUS_AFTER_MS.
 *
 * No I/O, no clock of its own (every call takes now_ms), no allocation on the pairing path beyond
 * the queue entries. Loop thread only. Banned users and users already in a chat are kept out by
 * the caller (rt/), which also removes users whose sockets are gone (rule 5).
 */
#ifndef CONVO_MATCHER_H
#define CONVO_MATCHER_H

#include <stddef.h>
#include <stdint.h>

#define MATCH_FALLBACK_AFTER_MS 10000  /* fallbackAny applies after this long in a queue */
#define MATCH_PREVIOUS_AFTER_MS 30000  /* previous partners may meet again after this long alone */
#define MATCH_BLOCKS_MAX        1024   /* blocked ids kept per waiting user */
#define MATCH_WAITING_MAX       200000 /* users waiting at once, all queues */

typedef struct matcher matcher;

struct matcher_entry_info {
    int64_t user_id;
    int category; /* index into util/catalog.h's categories */
    int fallback_any;
    uint64_t since_ms;
};

/* Called for each pair made by matcher_run: a waited longest; category is a's queue.
 * Both users have left the queues when it is called. It may read the matcher (matcher_lookup,
 * matcher_waiting) but must not change it (no enqueue, remove or add_block from inside). */
typedef void (*matcher_pair_fn)(void *ctx, int64_t a, int64_t b, int category);

/* NULL when category_count is 0 or memory runs out. */
matcher *matcher_new(size_t category_count);
void matcher_free(matcher *m);

/* Puts user in the queue of category (moving them if they wait elsewhere; a move restarts their
 * wait). Enqueueing again into the queue they already wait in keeps their place and their wait,
 * and replaces fallback_any, previous_partner and blocked. previous_partner: the partner of their
 * last chat (0 = none). blocked: ids this user blocked (copied; the first MATCH_BLOCKS_MAX are
 * kept). now_ms must not go backwards (an earlier value counts as the latest one seen).
 * Returns 0, or -1 for a bad category, a full matcher (MATCH_WAITING_MAX waiting and user is not
 * one of them) or no memory; on -1 nothing has changed. */
int matcher_enqueue(matcher *m, int64_t user_id, int category, int fallback_any,
                    int64_t previous_partner, const int64_t *blocked, size_t blocked_count,
                    uint64_t now_ms);

/* Takes user out of whatever queue they are in. Returns 1 when they were waiting, else 0. */
int matcher_remove(matcher *m, int64_t user_id);

/* Adds a block made while waiting (blocker blocked blocked_id). Kept on the blocker's entry when
 * they wait (and it has room), else on blocked_id's entry when they wait, else not needed: the
 * next enqueue passes the block list. */
void matcher_add_block(matcher *m, int64_t blocker, int64_t blocked_id);

/* 1 and *info filled when user waits, else 0. */
int matcher_lookup(const matcher *m, int64_t user_id, struct matcher_entry_info *info);

size_t matcher_waiting(const matcher *m, int category); /* -1 = all queues; bad category = 0 */

/* Makes every pair the rules allow at now_ms, calling on_pair (may be NULL) for each. Call it
 * after each enqueue, after each remove (leaving two users waiting can let previous partners
 * meet) and when the timer armed at matcher_next_deadline fires. Users enqueued since the last run
 * are taken in arrival order, each against those waiting before it (as if matcher_run had been
 * called after each enqueue, at this now_ms). After a run no two waiting users can be paired
 * at now_ms. Cost: each new user is checked against its queue (and the fallback users, when it
 * allows fallback), oldest first, until a partner is found; a full scan happens only when a
 * time rule came due or a waiting user changed in place.
 * Returns the number of pairs made. */
size_t matcher_run(matcher *m, uint64_t now_ms, matcher_pair_fn on_pair, void *ctx);

/* The next time (ms, > now_ms) at which a time rule could make a pair that cannot be made now,
 * or 0 when none can: lets the caller arm one timer instead of polling. Fallback: the earliest
 * fallback user's 10 s mark, when some fallback user waits in another category. Previous
 * partner: when exactly those two wait and could otherwise pair, the younger one's 30 s mark. */
uint64_t matcher_next_deadline(const matcher *m, uint64_t now_ms);

#endif
