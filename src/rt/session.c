/* session.c — one WebSocket of a user (SPEC §4): the Origin check, the auth frame within 10 s,
 * re-auth, the per-socket rate limit (token bucket: 20 frames/s, burst 40; RATE_LIMITED, then
 * close 1008), JSON checks (close 1007), and dispatch of client frames to match.c and chat.c.
 * A socket is freed once its WebSocket is closed and no store callback still holds it.
 */
#include <string.h>

#include "api/api.h"
#include "net/http_reply.h"
#include "rt/rt_internal.h"
#include "util/catalog.h"
#include "util/log.h"
#include "util/metrics.h"

#define RT_AUTH_TIMEOUT_MS        10000
#define RT_RATE_PER_SECOND        20.0
#define RT_RATE_BURST             40.0
#define RT_RATE_ERROR_INTERVAL_MS 1000 /* at most one RATE_LIMITED error a second */

enum { CLOSE_NORMAL = 1000, CLOSE_GOING_AWAY = 1001, CLOSE_BAD_DATA = 1007 };
enum { CLOSE_POLICY = 1008, CLOSE_UNAUTHENTICATED = 4401, CLOSE_BANNED = 4403 };

void rt_socket_ref(struct rt_socket *s) {
    s->refs++;
}

void rt_socket_unref(struct rt_socket *s) {
    if (--s->refs == 0 && s->gone)
        free(s);
}

/* ---- auth ---- */

struct auth_op {
    struct rt_socket *s;
    json_t *ref;
    json_t *user_json;
    struct rt_public info;
};

static void auth_op_free(struct auth_op *op) {
    rt_socket_unref(op->s);
    json_decref(op->ref);
    json_decref(op->user_json);
    free(op);
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The user's active chat, from the store's view, joined to the node's state. */
static struct rt_chat *adopt_active_chat(struct rt *rt, struct rt_user *u,
                                         const store_chat_summary *sum) {
    struct rt_chat *c = imap_get(rt->chats, sum->id);
    if (!c) {
        struct rt_public partner = {.id = sum->partner.id};
        copy_str(partner.nickname, sizeof partner.nickname, sum->partner.nickname);
        copy_str(partner.job, sizeof partner.job, sum->partner.job);
        copy_str(partner.career, sizeof partner.career, sum->partner.career);
        c = rt_chat_add(rt, sum->id, catalog_category_index(sum->category), &u->info, &partner,
                        sum->started_at_ms);
        if (!c)
            return NULL;
        c->last_seq = sum->last_seq;
        c->read_seq[0] = sum->my_read_seq;
        c->read_seq[1] = sum->partner_read_seq;
    }
    int side = rt_chat_side(c, u->id);
    c->info[side] = u->info;
    return c;
}

static void apply_context(struct rt *rt, struct rt_user *u, const store_user_context *ctx) {
    if (!u->context_loaded) {
        u->previous_partner = ctx->previous_partner;
        rt_user_set_blocked(u, ctx->blocked, ctx->blocked_count);
        u->context_loaded = 1;
    }
    u->banned_until_ms = ctx->banned_until_ms;
    if (!u->chat && ctx->active_chat)
        u->chat = adopt_active_chat(rt, u, ctx->active_chat);
}

static json_t *ready_frame(struct rt *rt, struct rt_user *u, json_t *user_json) {
    int category;
    json_t *waiting = json_null();
    if (bus_waiting_category(rt->bus, u->id, &category))
        waiting = json_pack("{s:s}", "category", catalog_categories[category].id);
    json_t *chat = u->chat ? rt_chat_json(u->chat, rt_chat_side(u->chat, u->id)) : json_null();
    return json_pack("{s:s, s:O, s:o, s:o}", "type", "ready", "user", user_json, "chat", chat,
                     "waiting", waiting);
}

static void on_auth_context(int status, const store_user_context *ctx, void *arg) {
    struct auth_op *op = arg;
    struct rt_socket *s = op->s;
    struct rt *rt = s->rt;
    s->authenticating = 0;
    if (s->gone) {
        auth_op_free(op);
        return;
    }
    struct rt_user *u = status == STORE_OK ? rt_user_ensure(rt, op->info.id) : NULL;
    if (!u) {
        ws_close(s->ws, CLOSE_UNAUTHENTICATED, "unauthenticated");
        auth_op_free(op);
        return;
    }
    u->info = op->info;
    apply_context(rt, u, ctx);
    if (s->user != u)
        rt_user_attach(rt, u, s);
    ws_set_deadline(s->ws, 0);
    json_t *frame = ready_frame(rt, u, op->user_json);
    if (frame && op->ref)
        json_object_set(frame, "ref", op->ref);
    rt_send(s, frame);
    auth_op_free(op);
}

static void on_auth_user(int status, const store_user *user, void *arg) {
    struct auth_op *op = arg;
    struct rt_socket *s = op->s;
    if (s->gone || status != STORE_OK) {
        if (!s->gone)
            ws_close(s->ws, CLOSE_UNAUTHENTICATED, "unauthenticated");
        s->authenticating = 0;
        auth_op_free(op);
        return;
    }
    if (user->banned_until_ms > api_now_ms()) {
        ws_close(s->ws, CLOSE_BANNED, "banned");
        s->authenticating = 0;
        auth_op_free(op);
        return;
    }
    op->info.id = user->id;
    copy_str(op->info.nickname, sizeof op->info.nickname, user->nickname);
    copy_str(op->info.job, sizeof op->info.job, user->job);
    copy_str(op->info.career, sizeof op->info.career, user->career);
    op->user_json = api_user_json(s->rt->app, user);
    if (store_user_context_load(s->rt->app->store, user->id, on_auth_context, op) != 0)
        on_auth_context(STORE_ERR_UNAVAILABLE, NULL, op);
}

static void handle_auth(struct rt_socket *s, json_t *frame, json_t *ref) {
    const struct config *cfg = s->rt->app->cfg;
    const char *token = json_string_value(json_object_get(frame, "token"));
    struct jwt_claims claims;
    if (!token ||
        jwt_verify((const unsigned char *)cfg->jwt_secret, cfg->jwt_secret_len, token,
                   strlen(token), api_now_s(), &claims) != JWT_OK ||
        (s->user && s->user->id != claims.sub)) {
        ws_close(s->ws, CLOSE_UNAUTHENTICATED, "unauthenticated");
        return;
    }
    if (s->authenticating)
        return;
    struct auth_op *op = calloc(1, sizeof *op);
    if (!op)
        return;
    op->s = s;
    op->ref = ref ? json_incref(ref) : NULL;
    rt_socket_ref(s);
    s->authenticating = 1;
    if (store_user_by_id(s->rt->app->store, claims.sub, on_auth_user, op) != 0)
        on_auth_user(STORE_ERR_UNAVAILABLE, NULL, op);
}

/* ---- frames ---- */

static void handle_ping(struct rt_socket *s, json_t *frame, json_t *ref) {
    (void)frame;
    json_t *pong = json_pack("{s:s}", "type", "pong");
    if (pong && ref)
        json_object_set(pong, "ref", ref);
    rt_send(s, pong);
}

struct frame_route {
    const char *type;
    void (*handle)(struct rt_socket *s, json_t *frame, json_t *ref);
};

static const struct frame_route frame_routes[] = {
    {"auth", handle_auth},
    {"ping", handle_ping},
    {"match.start", rt_handle_match_start},
    {"match.cancel", rt_handle_match_cancel},
    {"msg.send", rt_handle_msg_send},
    {"typing", rt_handle_typing},
    {"msg.read", rt_handle_msg_read},
    {"chat.leave", rt_handle_chat_leave},
    {"chat.sync", rt_handle_chat_sync},
};

static void dispatch(struct rt_socket *s, json_t *frame) {
    json_t *ref = json_object_get(frame, "ref");
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (!type) {
        rt_send_error(s, "BAD_REQUEST", "A frame needs a string \"type\".", ref);
        return;
    }
    if (!s->user && strcmp(type, "auth") != 0) {
        ws_close(s->ws, CLOSE_UNAUTHENTICATED, "authenticate first");
        return;
    }
    for (size_t i = 0; i < sizeof frame_routes / sizeof frame_routes[0]; i++) {
        if (strcmp(type, frame_routes[i].type) == 0) {
            if (s->user || frame_routes[i].handle == handle_auth)
                frame_routes[i].handle(s, frame, ref);
            return;
        }
    }
    rt_send_error(s, "UNKNOWN_TYPE", "This frame type is not known.", ref);
}

/* Refuses a frame over the rate: one RATE_LIMITED error a second at most, carrying the ref of
 * the frame that triggered it (a client resends what was never acked). */
static void refuse_over_rate(struct rt_socket *s, json_t *frame) {
    uint64_t now = ws_now(s->ws);
    metrics_limit_hit(LIMIT_WS_RATE);
    if (now < s->last_rate_error_ms + RT_RATE_ERROR_INTERVAL_MS)
        return;
    s->last_rate_error_ms = now;
    json_t *ref = json_is_object(frame) ? json_object_get(frame, "ref") : NULL;
    rt_send_error(s, "RATE_LIMITED", "Too many frames; slow down.", ref);
}

/* The relay's hot path: a msg.send frame read by rt_scan_msg_send, without a JSON tree.
 * Returns 0, having done nothing, for any frame it does not take (jansson reads those). */
static int fast_msg_send(struct rt_socket *s, const char *data, size_t len) {
    char text[RT_FAST_TEXT_MAX];
    char client_msg_id[RT_CLIENT_MSG_ID_MAX + 1];
    struct rt_send_scan f;
    if (!rt_scan_msg_send(data, len, text, sizeof text, &f) ||
        f.client_msg_id_len > RT_CLIENT_MSG_ID_MAX)
        return 0;
    json_t *ref = f.ref ? json_stringn(f.ref, f.ref_len) : NULL;
    if (f.ref && !ref)
        return 0;
    memcpy(client_msg_id, f.client_msg_id, f.client_msg_id_len);
    client_msg_id[f.client_msg_id_len] = '\0';
    rt_msg_send(s, rt_parse_id_text(f.chat_id, f.chat_id_len), client_msg_id, text, f.text_len,
                ref);
    json_decref(ref);
    return 1;
}

static void on_text(void *ctx, const char *data, size_t len) {
    struct rt_socket *s = ctx;
    if (s->gone || ws_is_closing(s->ws))
        return;
    enum rt_rate rate = rt_bucket_take(&s->rate, ws_now(s->ws));
    if (rate == RT_RATE_CUT) { /* a flood: not even parsed */
        metrics_limit_hit(LIMIT_WS_RATE);
        ws_close(s->ws, CLOSE_POLICY, "rate limit");
        return;
    }
    if (rate == RT_RATE_OK && s->user && fast_msg_send(s, data, len))
        return;
    /* Any JSON value parses (a non-object gets an error frame, not a close); NUL escapes are
     * allowed so a "\u0000" in a text is refused as a control character, not as bad JSON. */
    json_t *frame =
        json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!frame)
        ws_close(s->ws, CLOSE_BAD_DATA, "frames must be JSON");
    else if (rate == RT_RATE_REFUSED)
        refuse_over_rate(s, frame);
    else if (json_is_object(frame))
        dispatch(s, frame);
    else
        rt_send_error(s, "BAD_REQUEST", "A frame must be a JSON object.", NULL);
    json_decref(frame);
}

static void on_deadline(void *ctx, uint64_t now) {
    struct rt_socket *s = ctx;
    (void)now;
    if (!s->user)
        ws_close(s->ws, CLOSE_UNAUTHENTICATED, "authentication timeout");
}

static void on_shutdown(void *ctx) {
    struct rt_socket *s = ctx;
    ws_close(s->ws, CLOSE_GOING_AWAY, "server going away");
}

static void on_close(void *ctx) {
    struct rt_socket *s = ctx;
    s->gone = 1;
    rt_user_detach(s->rt, s);
    s->refs++;
    rt_socket_unref(s); /* frees it now unless a store callback still holds it */
}

static const struct ws_handlers socket_handlers = {
    .on_text = on_text,
    .on_deadline = on_deadline,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};

/* GET /ws: Origin (when sent) must be allowed; then the handshake. */
static void handle_ws(http_request *req, void *ctx) {
    struct app *app = ctx;
    size_t len = 0;
    const char *origin = http_request_header(req, "origin", &len);
    if (origin && !config_origin_allowed(app->cfg, origin, len)) {
        http_reply_error(req, ERR_FORBIDDEN, "This origin may not open a WebSocket here.");
        return;
    }
    struct rt_socket *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return;
    }
    s->rt = app->rt;
    s->ws = ws_accept(req, &socket_handlers, s);
    if (!s->ws) {
        free(s);
        return;
    }
    rt_bucket_init(&s->rate, ws_now(s->ws));
    ws_set_deadline(s->ws, ws_now(s->ws) + RT_AUTH_TIMEOUT_MS);
}

int rt_register_ws(struct app *app) {
    return router_add(app->router, ROUTE_METHOD(HTTP_GET), "/ws", handle_ws, app, 0);
}
