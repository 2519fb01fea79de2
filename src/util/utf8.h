/* utf8.h — a strict UTF-8 decoder (no overlong forms, no surrogates, nothing past U+10FFFF),
 * shared by the WebSocket layer (text frames must be valid UTF-8) and the field rules.
 * Pure functions: no state, no allocation.
 */
#ifndef CONVO_UTF8_H
#define CONVO_UTF8_H

#include <stddef.h>

/* Decodes the code point at s[*i], advances *i past it and returns it, or returns -1 (and
 * leaves *i) when the bytes there are not valid UTF-8. *i must be < len. */
long utf8_next(const unsigned char *s, size_t len, size_t *i);

/* Number of code points in the len bytes at s, or -1 when they are not valid UTF-8 (or s is
 * NULL). */
long utf8_length(const char *s, size_t len);

/* 1 when the len bytes at s are valid UTF-8 (an empty string is), else 0. */
int utf8_valid(const char *s, size_t len);

#endif
