/* protocol.c — pure protocol rules (see protocol.h). */
#include "rt/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

int64_t rt_parse_id(json_t *v) {
    const char *s = json_string_value(v);
    return s ? rt_parse_id_text(s, strlen(s)) : 0;
}

int64_t rt_parse_id_text(const char *s, size_t len) {
    if (len == 0 || len > 18)
        return 0;
    int64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        id = id * 10 + (s[i] - '0');
    }
    return id;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* C0 controls but newline and tab, DEL, and C1 controls (U+0080–U+009F, UTF-8 C2 80–C2 9F). */
static int has_control(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return 1;
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return 1;
    }
    return 0;
}

const char *rt_message_text(const char *text, size_t len, char *out, size_t outlen) {
    size_t start = 0;
    if (memchr(text, '\0', len))
        return "The message has control characters.";
    while (start < len && is_space(text[start]))
        start++;
    while (len > start && is_space(text[len - 1]))
        len--;
    if (len == start)
        return "The message is empty.";
    if (len - start >= outlen || len - start > RT_TEXT_MAX_BYTES)
        return "The message is too long.";
    memcpy(out, text + start, len - start);
    out[len - start] = '\0';
    long chars = utf8_length(out, len - start);
    if (chars < 0)
        return "The message is not valid text.";
    if (chars > RT_TEXT_MAX_CHARS)
        return "The message is too long.";
    return has_control(out) ? "The message has control characters." : NULL;
}

int rt_client_msg_id(const char *id, char out[RT_CLIENT_MSG_ID_MAX + 1]) {
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > RT_CLIENT_MSG_ID_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return -1;
    memcpy(out, id, len + 1);
    return 0;
}

void rt_bucket_init(struct rt_bucket *b, uint64_t now_ms) {
    b->tokens = RT_RATE_BURST;
    b->at_ms = now_ms;
}

/* One token a frame, refilled at RT_RATE_PER_SECOND up to RT_RATE_BURST. A frame without a token
 * is refused and still counts, so a client that keeps flooding digs a deficit; a deficit of a
 * whole burst cuts it off. */
enum rt_rate rt_bucket_take(struct rt_bucket *b, uint64_t now_ms) {
    if (now_ms > b->at_ms)
        b->tokens += (double)(now_ms - b->at_ms) * RT_RATE_PER_SECOND / 1000.0;
    if (b->tokens > RT_RATE_BURST)
        b->tokens = RT_RATE_BURST;
    b->at_ms = now_ms > b->at_ms ? now_ms : b->at_ms;
    b->tokens -= 1.0;
    if (b->tokens >= 0)
        return RT_RATE_OK;
    return b->tokens <= -RT_RATE_BURST ? RT_RATE_CUT : RT_RATE_REFUSED;
}

/* ---- the msg.send fast path ---- */

/* A cursor over a frame being scanned. */
struct scan {
    const char *p, *end;
};

static void skip_space(struct scan *sc) {
    while (sc->p < sc->end && is_space(*sc->p))
        sc->p++;
}

/* Takes the byte c (after white space). 1 when it was there. */
static int take(struct scan *sc, char c) {
    skip_space(sc);
    if (sc->p == sc->end || *sc->p != c)
        return 0;
    sc->p++;
    return 1;
}

/* A string without escapes or control bytes, its opening quote already taken: its span. */
static int plain_string(struct scan *sc, const char **at, size_t *len) {
    const char *start = sc->p;
    while (sc->p < sc->end && *sc->p != '"') {
        if (*sc->p == '\\' || (unsigned char)*sc->p < 0x20)
            return 0;
        sc->p++;
    }
    if (sc->p == sc->end)
        return 0;
    *at = start;
    *len = (size_t)(sc->p++ - start);
    return 1;
}

static int hex4(const char *p, const char *end, unsigned *out) {
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 1;
}

/* A \uXXXX escape (the backslash and u taken), joined with its low surrogate if it is a high
 * one: the code point, or -1 for bad hex or a lone surrogate. */
static long unicode_escape(struct scan *sc) {
    unsigned hi, lo;
    if (!hex4(sc->p, sc->end, &hi))
        return -1;
    sc->p += 4;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return -1;
    if (hi < 0xD800 || hi > 0xDBFF)
        return (long)hi;
    if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u' ||
        !hex4(sc->p + 2, sc->end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return -1;
    sc->p += 6;
    return 0x10000 + ((long)(hi - 0xD800) << 10) + (long)(lo - 0xDC00);
}

/* Writes code point cp as UTF-8 at out[*n] if it fits in cap bytes. 1 when written. */
static int put_utf8(char *out, size_t cap, size_t *n, long cp) {
    size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (need > cap - *n)
        return 0;
    unsigned char *o = (unsigned char *)out + *n;
    *n += need;
    if (need == 1) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    for (size_t i = need - 1; i > 0; i--, cp >>= 6)
        o[i] = (unsigned char)(0x80 | (cp & 0x3F));
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    o[0] = (unsigned char)(lead[need] | cp);
    return 1;
}

/* The byte a one-character escape stands for, or -1. */
static int simple_escape(char c) {
    switch (c) {
        case '"':
        case '\\':
        case '/':
            return c;
        case 'b':
            return '\b';
        case 'f':
            return '\f';
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        default:
            return -1;
    }
}

/* A string with escapes, its opening quote taken, decoded into out (cap bytes): its length, or
 * -1 when it is not one JSON would take as it is or does not fit. */
static long decoded_string(struct scan *sc, char *out, size_t cap) {
    size_t n = 0;
    while (sc->p < sc->end && *sc->p != '"') {
        unsigned char c = (unsigned char)*sc->p++;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            if (n == cap)
                return -1;
            out[n++] = (char)c;
            continue;
        }
        if (sc->p == sc->end)
            return -1;
        char e = *sc->p++;
        long cp = e == 'u' ? unicode_escape(sc) : simple_escape(e);
        if (cp < 0 || !put_utf8(out, cap, &n, cp))
            return -1;
    }
    if (sc->p == sc->end)
        return -1;
    sc->p++;
    return (long)n;
}

enum send_member { M_TYPE, M_CHAT_ID, M_CLIENT_MSG_ID, M_TEXT, M_REF, M_COUNT };

static int member_of(const char *key, size_t len) {
    static const char *const names[M_COUNT] = {"type", "chatId", "clientMsgId", "text", "ref"};
    for (int m = 0; m < M_COUNT; m++)
        if (strlen(names[m]) == len && memcmp(names[m], key, len) == 0)
            return m;
    return -1;
}

/* One member's value, its key known (and not seen before). 1 when it is one the scan takes. */
static int member_value(struct scan *sc, int m, char *text, size_t text_cap,
                        struct rt_send_scan *out) {
    if (!take(sc, '"'))
        return 0;
    const char *at;
    size_t len;
    switch (m) {
        case M_TEXT: {
            long n = decoded_string(sc, text, text_cap);
            out->text_len = n < 0 ? 0 : (size_t)n;
            return n >= 0;
        }
        case M_TYPE:
            return plain_string(sc, &at, &len) && len == 8 && memcmp(at, "msg.send", 8) == 0;
        case M_CHAT_ID:
            return plain_string(sc, &out->chat_id, &out->chat_id_len);
        case M_CLIENT_MSG_ID:
            return plain_string(sc, &out->client_msg_id, &out->client_msg_id_len);
        default:
            return plain_string(sc, &out->ref, &out->ref_len);
    }
}

int rt_scan_msg_send(const char *data, size_t len, char *text, size_t text_cap,
                     struct rt_send_scan *out) {
    struct scan sc = {data, data + len};
    unsigned seen = 0;
    memset(out, 0, sizeof *out);
    if (!take(&sc, '{'))
        return 0;
    do {
        const char *key;
        size_t key_len;
        if (!take(&sc, '"') || !plain_string(&sc, &key, &key_len) || !take(&sc, ':'))
            return 0;
        int m = member_of(key, key_len);
        if (m < 0 || (seen & 1u << m) || !member_value(&sc, m, text, text_cap, out))
            return 0;
        seen |= 1u << m;
    } while (take(&sc, ','));
    if (!take(&sc, '}'))
        return 0;
    skip_space(&sc);
    unsigned needed = 1u << M_TYPE | 1u << M_CHAT_ID | 1u << M_CLIENT_MSG_ID | 1u << M_TEXT;
    return sc.p == sc.end && (seen & needed) == needed;
}
