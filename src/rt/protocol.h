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

/* A msg.send frame read without building a JSON tree: the relay's hot path (jansson's parse
 * cost a third of the event loop at saturation). Spans point into the frame; text is decoded
 * into the caller's buffer. */
struct rt_send_scan {
    const char *chat_id; /* the chatId string, as written (no escapes) */
    size_t chat_id_len;
    const char *client_msg_id; /* the clientMsgId string, as written (no escapes) */
    size_t client_msg_id_len;
    const char *ref; /* the ref string as written (no escapes), or NULL when there is none */
    size_t ref_len;
    size_t text_len; /* bytes of the decoded text in the caller's buffer (may hold NULs) */
};

/* Reads data (len bytes of valid UTF-8) as a msg.send frame: one JSON object, white space
 * allowed between tokens, whose members are exactly "type": "msg.send", "chatId", "clientMsgId"
 * and "text", each a string, and optionally "ref", a string; in any order, none twice. Only text
 * may hold escapes (\uXXXX surrogate pairs joined, \u0000 kept as a NUL byte). Returns 1 and
 * fills out (text decoded into text, at most text_cap bytes) when the frame is exactly that;
 * otherwise 0, and the caller parses the frame in full (jansson), which answers exactly as it
 * would have: anything else, errors included, is left to it. */
int rt_scan_msg_send(const char *data, size_t len, char *text, size_t text_cap,
                     struct rt_send_scan *out);

/* rt_parse_id on a string of len bytes. */
int64_t rt_parse_id_text(const char *s, size_t len);

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
