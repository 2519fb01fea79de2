/* chat.c — frames about a chat (SPEC §4): msg.send (stored through the group commit; msg.ack to
 * the sender only once it is durable, then msg.new to every socket of both users), typing and
 * read marks relayed to the partner, chat.leave, and chat.sync (every message after a seq).
 * A send carries its socket (referenced) and its ref through the store callback.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "rt/protocol.h"
#include "rt/rt_internal.h"
#include "util/metrics.h"

static void chat_id_text(int64_t id, char out[24]) {
    snprintf(out, 24, "%lld", (long long)id);
}

/* The active chat of id, or NULL after answering NOT_IN_CHAT. */
static struct rt_chat *chat_of_frame(struct rt_socket *s, int64_t id, json_t *ref) {
    struct rt_chat *c = s->user->chat;
    if (!c || c->id != id || c->ended) {
        rt_send_error(s, "NOT_IN_CHAT", "You are not in this chat.", ref);
        return NULL;
    }
    return c;
}

struct rt_chat *rt_frame_chat(struct rt_socket *s, json_t *frame, json_t *ref) {
    return chat_of_frame(s, rt_parse_id(json_object_get(frame, "chatId")), ref);
}

/* ---- msg.send ---- */

struct send_op {
    struct rt_socket *s;
    json_t *ref;
    uint64_t handled_ns; /* when the frame was handled: /metrics times the ack from here */
    char client_msg_id[RT_CLIENT_MSG_ID_MAX + 1];
};

/* The durable answer: msg.ack to the sending socket, msg.new to every socket of both users
 * (unless this was a retry of a stored message). Both are written as text, MESSAGE by the one
 * renderer REST history uses too. */
static void deliver_stored(struct send_op *op, const store_message *m) {
    struct rt_socket *s = op->s;
    struct rt_chat *c = imap_get(s->rt->chats, m->chat_id);
    if (c && m->seq > c->last_seq)
        c->last_seq = m->seq;
    if (!s->gone) {
        buf *b = rt_frame_begin(s->rt, "msg.ack");
        buf_append_cstr(b, ",\"clientMsgId\":");
        buf_append_json_string(b, op->client_msg_id, strlen(op->client_msg_id));
        buf_append_cstr(b, ",\"message\":");
        api_message_write(b, m);
        rt_frame_send(s, b, op->ref);
        metrics_observe(&metrics.msg_ack, uv_hrtime() - op->handled_ns);
    }
    if (!m->duplicate && c) {
        buf *b = rt_frame_begin(s->rt, "msg.new");
        buf_append_cstr(b, ",\"message\":");
        api_message_write(b, m);
        rt_frame_send_chat(s->rt, c, b);
    }
}

static void on_appended(int status, const store_message *m, void *arg) {
    struct send_op *op = arg;
    struct rt_socket *s = op->s;
    if (status == STORE_OK)
        deliver_stored(op, m);
    else if (!s->gone)
        rt_send_error(s, status == STORE_ERR_NOT_FOUND ? "NOT_IN_CHAT" : "UNAVAILABLE",
                      "The message was not stored; send it again.", op->ref);
    json_decref(op->ref);
    rt_socket_unref(s);
    free(op);
}

void rt_handle_msg_send(struct rt_socket *s, json_t *frame, json_t *ref) {
    json_t *text = json_object_get(frame, "text");
    rt_msg_send(s, rt_parse_id(json_object_get(frame, "chatId")),
                json_string_value(json_object_get(frame, "clientMsgId")), json_string_value(text),
                json_string_length(text), ref);
}

void rt_msg_send(struct rt_socket *s, int64_t chat_id, const char *client_msg_id, const char *text,
                 size_t text_len, json_t *ref) {
    struct rt_chat *c = chat_of_frame(s, chat_id, ref);
    if (!c)
        return;
    struct send_op *op = calloc(1, sizeof *op);
    char clean[RT_TEXT_MAX_BYTES + 1];
    const char *why =
        text ? rt_message_text(text, text_len, clean, sizeof clean) : "text is required.";
    if (!op || rt_client_msg_id(client_msg_id, op->client_msg_id) != 0 || why) {
        rt_send_error(s, "VALIDATION_FAILED", why ? why : "clientMsgId: 1–64 visible characters.",
                      ref);
        free(op);
        return;
    }
    op->s = s;
    op->ref = ref ? json_incref(ref) : NULL;
    op->handled_ns = uv_hrtime();
    rt_socket_ref(s);
    int rc = store_message_append(s->rt->app->store, c->id, s->user->id, op->client_msg_id, clean,
                                  on_appended, op);
    if (rc != 0)
        on_appended(rc, NULL, op);
}

/* ---- typing, read marks, leave ---- */

void rt_handle_typing(struct rt_socket *s, json_t *frame, json_t *ref) {
    struct rt_chat *c = rt_frame_chat(s, frame, ref);
    if (!c)
        return;
    char id[24];
    chat_id_text(c->id, id);
    int side = rt_chat_side(c, s->user->id);
    rt_send_user(s->rt, c->users[1 - side],
                 json_pack("{s:s, s:s, s:b}", "type", "typing", "chatId", id, "on",
                           json_is_true(json_object_get(frame, "on"))));
}

void rt_handle_msg_read(struct rt_socket *s, json_t *frame, json_t *ref) {
    struct rt_chat *c = rt_frame_chat(s, frame, ref);
    if (!c)
        return;
    json_t *v = json_object_get(frame, "upToSeq");
    int64_t seq = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    if (seq < 0 || seq > c->last_seq) {
        rt_send_error(s, "VALIDATION_FAILED", "upToSeq must be a seq of this chat.", ref);
        return;
    }
    int side = rt_chat_side(c, s->user->id);
    if (seq <= c->read_seq[side])
        return;
    c->read_seq[side] = seq;
    store_chat_mark_read(s->rt->app->store, c->id, s->user->id, seq, NULL, NULL);
    char id[24];
    chat_id_text(c->id, id);
    rt_send_user(
        s->rt, c->users[1 - side],
        json_pack("{s:s, s:s, s:I}", "type", "msg.read", "chatId", id, "upToSeq", (json_int_t)seq));
}

void rt_handle_chat_leave(struct rt_socket *s, json_t *frame, json_t *ref) {
    struct rt_chat *c = rt_frame_chat(s, frame, ref);
    if (c)
        rt_chat_end(s->rt, c, s->user->id, "left", "partner_left");
}

/* ---- chat.sync ---- */

struct sync_op {
    struct rt_socket *s;
    json_t *ref;
    int64_t chat_id;
};

static void on_synced(int status, const store_message *msgs, size_t count, void *arg) {
    struct sync_op *op = arg;
    struct rt_socket *s = op->s;
    if (s->gone) {
        /* nothing to answer */
    } else if (status != STORE_OK) {
        rt_send_error(s, status == STORE_ERR_NOT_FOUND ? "NOT_FOUND" : "UNAVAILABLE",
                      "No such chat for you.", op->ref);
    } else {
        buf *b = rt_frame_begin(s->rt, "chat.history");
        buf_append_cstr(b, ",\"chatId\":\"");
        buf_append_u64(b, (uint64_t)op->chat_id);
        buf_append_cstr(b, "\",\"messages\":");
        api_messages_write(b, msgs, count);
        buf_append_cstr(b, count == RT_SYNC_MAX ? ",\"more\":true" : ",\"more\":false");
        rt_frame_send(s, b, op->ref);
    }
    json_decref(op->ref);
    rt_socket_unref(s);
    free(op);
}

void rt_handle_chat_sync(struct rt_socket *s, json_t *frame, json_t *ref) {
    int64_t id = rt_parse_id(json_object_get(frame, "chatId"));
    json_t *after = json_object_get(frame, "afterSeq");
    int64_t after_seq = after ? (int64_t)json_integer_value(after) : 0;
    if (!id || (after && !json_is_integer(after)) || after_seq < 0) {
        rt_send_error(s, "VALIDATION_FAILED", "chatId and a non-negative afterSeq are needed.",
                      ref);
        return;
    }
    struct sync_op *op = calloc(1, sizeof *op);
    if (!op)
        return;
    *op = (struct sync_op){s, ref ? json_incref(ref) : NULL, id};
    rt_socket_ref(s);
    int rc = store_messages_after(s->rt->app->store, id, s->user->id, after_seq, RT_SYNC_MAX,
                                  on_synced, op);
    if (rc != 0)
        on_synced(rc, NULL, 0, op);
}
