/* rt_internal.h — the real-time layer's own structures, shared by the files of src/rt/ only:
 * the node state (struct rt), users present on this node, their sockets and active chats.
 * Everything here lives on the loop thread. Ownership: rt owns users and chats (in its maps);
 * a socket is owned by its WebSocket and freed in its close callback once no store callback
 * still holds it (refs).
 */
#ifndef CONVO_RT_INTERNAL_H
#define CONVO_RT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "app.h"
#include "bus/bus.h"
#include "net/ws.h"
#include "rt/icebreakers.h"
#include "rt/protocol.h"
#include "util/buf.h"
#include "util/imap.h"

#define RT_RECONNECT_WINDOW_MS 30000 /* SPEC §4 chat rule 2: absence that ends a chat */
#define RT_QUEUE_ABSENCE_MS    15000 /* SPEC §4 matching rule 5: absence that leaves the queue */
#define RT_TEXT_MAX_CHARS      2000  /* SPEC §4 chat rule 5 */
#define RT_CLIENT_MSG_ID_MAX   64    /* bytes of a clientMsgId */
#define RT_SYNC_MAX            1000  /* messages one chat.sync answer carries at most */
#define RT_NICKNAME_MAX        128
#define RT_ID_MAX              32
#define RT_FAST_TEXT_MAX       (16 * 1024) /* decoded text the msg.send fast path takes */

/* What a partner may see of a user: {id, nickname, job, career}. */
struct rt_public {
    int64_t id;
    char nickname[RT_NICKNAME_MAX + 1]; /* "" when unknown or deleted */
    char job[RT_ID_MAX + 1];            /* "" = null */
    char career[RT_ID_MAX + 1];         /* "" = null */
};

struct rt_chat {
    int64_t id;
    int category;
    int64_t users[2];
    struct rt_public info[2]; /* info[i] describes users[i] */
    int64_t started_at_ms;
    int64_t last_seq;
    int64_t read_seq[2];          /* highest seq users[i] marked read */
    uint64_t offline_deadline[2]; /* loop time when users[i]'s absence ends the chat; 0 = none */
    int ended;
};

struct rt_socket {
    struct rt *rt;
    ws_conn *ws;
    struct rt_user *user;          /* NULL until authenticated */
    struct rt_socket *next, *prev; /* the user's sockets */
    int refs;                      /* store callbacks in flight that will use this socket */
    int gone;                      /* the WebSocket is closed */
    int authenticating;
    struct rt_bucket rate; /* frames per second */
    uint64_t last_rate_error_ms;
};

struct rt_user {
    int64_t id;
    struct rt_public info;
    struct rt_socket *sockets;
    int socket_count;
    struct rt_chat *chat;      /* the active chat, or NULL */
    int pairing;               /* paired; the chat row is being created */
    uint64_t waiting_deadline; /* loop time when an absent waiting user leaves the queue */
    int64_t previous_partner;
    int64_t *blocked;
    size_t blocked_count;
    int64_t banned_until_ms;
    int context_loaded;
};

struct rt {
    struct app *app;
    bus *bus;
    imap *users;        /* id → struct rt_user */
    imap *chats;        /* id → struct rt_chat (active only) */
    uv_timer_t sweeper; /* absences (reconnect windows) and stats */
    int sweeping;       /* sweeper initialised */
    uint64_t last_stats_ms;
    int shutting_down;
    int loaded;           /* active chats restored from the store */
    struct rt_stop *stop; /* while stopping */
    buf frame;            /* the frame being written as text (rt_frame_begin … rt_frame_send) */
};

/* frames.c: building and sending frames */
void rt_send(struct rt_socket *s, json_t *frame);                 /* steals frame */
void rt_send_user(struct rt *rt, int64_t user_id, json_t *frame); /* every socket, via the bus */
void rt_send_error(struct rt_socket *s, const char *code, const char *message, json_t *ref);
/* Frames on the hot path are written as text: rt_frame_begin opens {"type":TYPE and returns
 * the node's frame buffer for the members (each appended as ,"name":value); rt_frame_send
 * adds "ref" (when given), closes the object and sends it to one socket, rt_frame_send_chat
 * to every socket of both users of a chat. */
buf *rt_frame_begin(struct rt *rt, const char *type);
void rt_frame_send(struct rt_socket *s, buf *frame, json_t *ref);
void rt_frame_send_chat(struct rt *rt, const struct rt_chat *c, buf *frame);
json_t *rt_public_json(const struct rt_public *p);
json_t *rt_chat_json(const struct rt_chat *c, int side);
int rt_chat_side(const struct rt_chat *c, int64_t user_id); /* 0, 1, or -1 */

/* hub.c: users and chats of this node */
struct rt_user *rt_user_get(struct rt *rt, int64_t id);
struct rt_user *rt_user_ensure(struct rt *rt, int64_t id);
void rt_user_maybe_forget(struct rt *rt, struct rt_user *u);
void rt_user_attach(struct rt *rt, struct rt_user *u, struct rt_socket *s);
void rt_user_detach(struct rt *rt, struct rt_socket *s);
void rt_user_set_blocked(struct rt_user *u, const int64_t *ids, size_t count);
struct rt_chat *rt_chat_add(struct rt *rt, int64_t id, int category, const struct rt_public *a,
                            const struct rt_public *b, int64_t started_at_ms);
void rt_chat_end(struct rt *rt, struct rt_chat *c, int64_t by, const char *reason_actor,
                 const char *reason_other);
void rt_sweep_start(struct rt *rt);

/* chat.c: frames about a chat */
void rt_handle_msg_send(struct rt_socket *s, json_t *frame, json_t *ref);
/* msg.send with its members read (text NULL when absent or not a string), from either reader:
 * the jansson tree above or the fast path in session.c (rt_scan_msg_send). */
void rt_msg_send(struct rt_socket *s, int64_t chat_id, const char *client_msg_id, const char *text,
                 size_t text_len, json_t *ref);
void rt_handle_typing(struct rt_socket *s, json_t *frame, json_t *ref);
void rt_handle_msg_read(struct rt_socket *s, json_t *frame, json_t *ref);
void rt_handle_chat_leave(struct rt_socket *s, json_t *frame, json_t *ref);
void rt_handle_chat_sync(struct rt_socket *s, json_t *frame, json_t *ref);
/* The active chat a frame names, or NULL after answering an error. */
struct rt_chat *rt_frame_chat(struct rt_socket *s, json_t *frame, json_t *ref);

/* match.c: queues */
void rt_handle_match_start(struct rt_socket *s, json_t *frame, json_t *ref);
void rt_handle_match_cancel(struct rt_socket *s, json_t *frame, json_t *ref);
void rt_on_pair(void *ctx, int64_t a, int64_t b, int category);
void rt_send_stats(struct rt *rt);
json_t *rt_stats_json(struct rt *rt);

/* session.c: sockets */
int rt_register_ws(struct app *app);
void rt_socket_ref(struct rt_socket *s);
void rt_socket_unref(struct rt_socket *s);

#endif
