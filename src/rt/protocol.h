/* protocol.h — the pure pieces of the WebSocket protocol (SPEC §4), without sockets or state so
 * they can be tested alone: id parsing, message-text rules, clientMsgId rules, and the per-socket
 * token bucket (20 frames/s, burst 40).
 */
#ifndef CONVO_RT_PROTOCOL_H
#define CONVO_RT_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RT_TEXT_MAX_CHARS    2000 /* SPEC §4 chat rule 5 */
#define RT_TEXT_MAX_BYTES    (4 * RT_TEXT_MAX_CHARS)
#define RT_CLIENT_MSG_ID_MAX 64 /* bytes of a clientMsgId: visible ASCII */
#define RT_RATE_PER_SECOND   20.0
#define RT_RATE_BURST        40.0

/* A positive decimal id in a JSON string ("42"); 0 when absent or malformed. */
int64_t rt_parse_id(json_t *v);

/* Trims ASCII white space at both ends of text (len bytes, which may contain a NUL from a
 * "\u0000" escape) into out (outlen > RT_TEXT_MAX_BYTES), then checks 1–RT_TEXT_MAX_CHARS
 * characters of valid UTF-8 with no control characters (C0 but newline and tab, DEL, C1, NUL).
 * NULL when fine, else the reason (English, for the error frame). */
const char *rt_message_text(const char *text, size_t len, char *out, size_t outlen);

/* Copies a clientMsgId of 1–RT_CLIENT_MSG_ID_MAX visible ASCII characters into out; 0 or -1. */
int rt_client_msg_id(const char *id, char out[RT_CLIENT_MSG_ID_MAX + 1]);

struct rt_bucket {
    double tokens;
    uint64_t at_ms;
};

enum rt_rate {
    RT_RATE_OK = 0,      /* the frame may be handled */
    RT_RATE_REFUSED = 1, /* over the rate: refuse this frame */
    RT_RATE_CUT = 2,     /* a whole burst over the rate: close 1008 */
};

void rt_bucket_init(struct rt_bucket *b, uint64_t now_ms); /* full */
enum rt_rate rt_bucket_take(struct rt_bucket *b, uint64_t now_ms);

#endif
