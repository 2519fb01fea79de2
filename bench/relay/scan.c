/* scan.c — reads single fields of the server's compact JSON frames without building a tree, for
 * the hot frames (msg.ack, msg.new) where jansson would cost the generator more CPU than the
 * server spends. Safe on any JSON an encoder produced: inside a JSON string every '"' is escaped,
 * so the pattern "key": can only match a real key. Values with escapes are not unescaped: use it
 * only for ids, types and the texts this tool sent itself.
 */
#include <string.h>

#include "relay.h"

/* Points just past `"key":` and any blanks; NULL when the key is absent. */
static const char *scan_value(const char *json, size_t len, const char *key) {
    char pat[64];
    size_t klen = strlen(key);
    if (klen + 3 > sizeof pat)
        return NULL;
    pat[0] = '"';
    memcpy(pat + 1, key, klen);
    pat[klen + 1] = '"';
    pat[klen + 2] = ':';
    const char *end = json + len;
    const char *p = memmem(json, len, pat, klen + 3);
    if (!p)
        return NULL;
    p += klen + 3;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p < end ? p : NULL;
}

const char *scan_str(const char *json, size_t len, const char *key, size_t *out_len) {
    const char *p = scan_value(json, len, key);
    const char *end = json + len;
    if (!p || *p != '"')
        return NULL;
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!q)
        return NULL;
    *out_len = (size_t)(q - p - 1);
    return p + 1;
}

int64_t scan_int(const char *json, size_t len, const char *key) {
    const char *p = scan_value(json, len, key);
    const char *end = json + len;
    if (!p)
        return -1;
    if (*p == '"')
        p++;
    int64_t v = 0;
    int digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        v = v * 10 + (*p - '0');
    return digits ? v : -1;
}

int scan_type_is(const char *json, size_t len, const char *type) {
    size_t n = 0;
    const char *t = scan_str(json, len, "type", &n);
    return t && n == strlen(type) && memcmp(t, type, n) == 0;
}
