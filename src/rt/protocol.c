/* protocol.c — pure protocol rules (see protocol.h). */
#include "rt/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

int64_t rt_parse_id(json_t *v) {
    const char *s = json_string_value(v);
    size_t len = s ? strlen(s) : 0;
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
