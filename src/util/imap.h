/* imap.h — a hash map from int64 keys (user and chat ids) to pointers: open addressing with
 * linear probing and backward-shift deletion, doubled at 70 % load. The map does not own the
 * values. Not thread-safe.
 */
#ifndef CONVO_IMAP_H
#define CONVO_IMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct imap imap;

imap *imap_new(void);
void imap_free(imap *m);
void *imap_get(const imap *m, int64_t key);
/* Inserts or replaces. 0, or -1 when memory ran out. key 0 is reserved (refused). */
int imap_put(imap *m, int64_t key, void *value);
/* Sets the value of a key already in the map (never grows it, so it cannot run out of memory).
 * 0, or -1 when the key is not there. */
int imap_replace(imap *m, int64_t key, void *value);
/* Removes key and returns its value, or NULL. */
void *imap_del(imap *m, int64_t key);
size_t imap_count(const imap *m);
/* Calls fn for every entry; fn must not change the map. */
void imap_each(const imap *m, void (*fn)(void *ctx, int64_t key, void *value), void *ctx);

#endif
