/* ratelimit.h — sliding-window counters per key ("at most N events per window"), with bounded
 * memory: a fixed number of keys, the least recently used evicted first. Keys are hashed with a
 * random SipHash key made per limiter (libsodium crypto_shorthash) so that no one can aim
 * collisions. Loop thread only; times in milliseconds from any monotonic clock. Each key keeps the
 * times of its last max_events events; an event is allowed while fewer than max_events of them lie
 * within the last window_ms. A copy of each key is stored; a key longer than RATELIMIT_KEY_MAX
 * bytes is stored as its 32-byte BLAKE2b digest instead (never equal to a short key; two long keys
 * share an entry only on a BLAKE2b collision). If memory runs out, ratelimit_hit drops the event.
 */
#ifndef CONVO_RATELIMIT_H
#define CONVO_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 320 /* longer keys are stored as a digest */

typedef struct ratelimit ratelimit;

/* max_keys: keys tracked at once (≥ 1); max_events: events allowed per window (1..1024);
 * window_ms ≥ 1. NULL on bad arguments or out of memory. */
ratelimit *ratelimit_new(size_t max_keys, unsigned max_events, uint64_t window_ms);
void ratelimit_free(ratelimit *rl);

/* 0 when another event for key is allowed at now; otherwise the milliseconds until it will be
 * (until the oldest of the last max_events leaves the window). Never creates a key. */
uint64_t ratelimit_check(ratelimit *rl, const char *key, size_t key_len, uint64_t now);
/* Records an event for key at now. */
void ratelimit_hit(ratelimit *rl, const char *key, size_t key_len, uint64_t now);
/* Forgets key (e.g. after a successful log-in, when the policy wants that). */
void ratelimit_reset(ratelimit *rl, const char *key, size_t key_len);
size_t ratelimit_keys(const ratelimit *rl); /* keys tracked now (for tests and metrics) */

#endif
