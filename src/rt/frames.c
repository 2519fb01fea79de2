/* frames.c — the shapes of server → client frames (SPEC §4): ACTIVE_CHAT, MESSAGE, partner
 * info, errors; and sending a frame to one socket or, through the bus, to every socket of a
 * user. Message and nickname text goes out as JSON strings only. */
#include <string.h>

#include "api/api.h"
#include "rt/rt_internal.h"
#include "util/catalog.h"

static char *frame_text(json_t *frame, size_t *len) {
    char *text = json_dumps(frame, JSON_COMPACT);
    json_decref(frame);
    *len = text ? strlen(text) : 0;
    return text;
}

void rt_send(struct rt_socket *s, json_t *frame) {
    if (!frame)
        return;
    size_t len;
    char *text = frame_text(frame, &len);
    if (text && !s->gone)
        ws_send_text(s->ws, text, len);
    free(text);
}

void rt_send_user(struct rt *rt, int64_t user_id, json_t *frame) {
    if (!frame)
        return;
    size_t len;
    char *text = frame_text(frame, &len);
    if (text)
        bus_publish(rt->bus, user_id, text, len);
    free(text);
}

#define RT_FRAME_KEEP_BYTES (64 * 1024) /* a bigger frame buffer is released after use */

buf *rt_frame_begin(struct rt *rt, const char *type) {
    buf *b = &rt->frame;
    buf_reset(b);
    b->failed = 0;
    buf_append_cstr(b, "{\"type\":\"");
    buf_append_cstr(b, type);
    buf_append(b, "\"", 1);
    return b;
}

/* Closes the frame; 0, or -1 (and the buffer released) when it ran out of memory. */
static int rt_frame_end(buf *b) {
    buf_append(b, "}", 1);
    if (!b->failed)
        return 0;
    buf_free(b);
    return -1;
}

static void rt_frame_done(buf *b) {
    if (b->cap > RT_FRAME_KEEP_BYTES)
        buf_free(b);
}

void rt_frame_send(struct rt_socket *s, buf *b, json_t *ref) {
    if (ref) {
        buf_append_cstr(b, ",\"ref\":");
        api_json_write(b, ref);
    }
    if (rt_frame_end(b) == 0 && !s->gone)
        ws_send_text(s->ws, b->data, b->len);
    rt_frame_done(b);
}

void rt_frame_send_chat(struct rt *rt, const struct rt_chat *c, buf *b) {
    if (rt_frame_end(b) == 0)
        for (int i = 0; i < 2; i++)
            bus_publish(rt->bus, c->users[i], b->data, b->len);
    rt_frame_done(b);
}

void rt_send_error(struct rt_socket *s, const char *code, const char *message, json_t *ref) {
    json_t *frame = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message",
                              message ? message : code);
    if (frame && ref)
        json_object_set(frame, "ref", ref);
    rt_send(s, frame);
}

static json_t *string_or_null(const char *s) {
    return s && s[0] ? json_string(s) : json_null();
}

json_t *rt_public_json(const struct rt_public *p) {
    return json_pack("{s:o, s:o, s:o, s:o}", "id", api_id_json(p->id), "nickname",
                     p->nickname[0] ? json_string(p->nickname) : json_null(), "job",
                     string_or_null(p->job), "career", string_or_null(p->career));
}

int rt_chat_side(const struct rt_chat *c, int64_t user_id) {
    return c->users[0] == user_id ? 0 : c->users[1] == user_id ? 1 : -1;
}

/* ACTIVE_CHAT as users[side] sees it. */
json_t *rt_chat_json(const struct rt_chat *c, int side) {
    char started[32];
    api_format_time(c->started_at_ms, started, sizeof started);
    const struct icebreaker *ice = icebreaker_pick((uint64_t)c->id);
    const char *category = c->category >= 0 && (size_t)c->category < catalog_category_count
                               ? catalog_categories[c->category].id
                               : "";
    return json_pack("{s:o, s:s, s:o, s:s, s:{s:s, s:s}, s:I, s:I}", "id", api_id_json(c->id),
                     "category", category, "partner", rt_public_json(&c->info[1 - side]),
                     "startedAt", started, "icebreaker", "ko", ice->ko, "en", ice->en, "lastSeq",
                     (json_int_t)c->last_seq, "partnerReadSeq", (json_int_t)c->read_seq[1 - side]);
}
