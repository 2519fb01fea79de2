/* buf.h — a growable byte buffer with sticky failure: appends after an allocation failure do
 * nothing and set `failed`, so callers check once at the end instead of after every append.
 * The buffer owns `data`; buf_free releases it. `data` is always NUL-terminated when non-NULL.
 */
#ifndef CONVO_BUF_H
#define CONVO_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} buf;

void buf_init(buf *b, size_t initial_cap);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, keeps the memory */
int buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_append_cstr(buf *b, const char *s);
void buf_append_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_append_u64(buf *b, uint64_t v);
/* Appends s as a JSON string literal with quotes; control characters and invalid bytes escaped. */
void buf_append_json_string(buf *b, const char *s, size_t n);
/* Removes the first n bytes. */
void buf_consume(buf *b, size_t n);
/* Hands the memory to the caller (who frees it) and leaves b empty. */
char *buf_detach(buf *b, size_t *len);

#endif
