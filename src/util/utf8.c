/* utf8.c — the strict UTF-8 decoder of utf8.h. Pure: no state, no allocation. */
#include "util/utf8.h"

#include <stdint.h>

/* The number of continuation bytes after lead byte b (its payload bits in *cp, the smallest
 * code point of that length in *min), or -1 for a byte that cannot start a sequence. */
static int utf8_lead(unsigned char b, uint32_t *cp, uint32_t *min) {
    if (b >= 0xC2 && b <= 0xDF) {
        *cp = b & 0x1Fu;
        *min = 0x80;
        return 1;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        *cp = b & 0x0Fu;
        *min = 0x800;
        return 2;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        *cp = b & 0x07u;
        *min = 0x10000;
        return 3;
    }
    return -1;
}

long utf8_next(const unsigned char *s, size_t len, size_t *i) {
    uint32_t cp = s[*i], min = 0;
    if (cp < 0x80) {
        (*i)++;
        return (long)cp;
    }
    int extra = utf8_lead(s[*i], &cp, &min);
    if (extra < 0 || len - *i <= (size_t)extra)
        return -1;
    for (int k = 1; k <= extra; k++) {
        unsigned char c = s[*i + (size_t)k];
        if ((c & 0xC0u) != 0x80u)
            return -1;
        cp = (cp << 6) | (c & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu))
        return -1;
    *i += (size_t)extra + 1;
    return (long)cp;
}

long utf8_length(const char *s, size_t len) {
    if (!s)
        return -1;
    long n = 0;
    for (size_t i = 0; i < len; n++)
        if (utf8_next((const unsigned char *)s, len, &i) < 0)
            return -1;
    return n;
}

int utf8_valid(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs (most chat text and all of the protocol) skip the decoder. */
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        if (utf8_next(u, len, &i) < 0)
            return 0;
    }
    return 1;
}
