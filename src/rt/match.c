/* match.c — match.start / match.cancel frames, what happens when the bus pairs two users (the
 * chat row is created, then both hear match.found), and the live counts (stats frames to waiting
 * users, /api/v1/stats). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "rt/rt.h"
#include "rt/rt_internal.h"
#include "util/catalog.h"

static void reply(struct rt_socket *s, json_t *frame, json_t *ref) {
    if (frame && ref)
        json_object_set(frame, "ref", ref);
    rt_send(s, frame);
}

void rt_handle_match_start(struct rt_socket *s, json_t *frame, json_t *ref) {
    struct rt *rt = s->rt;
    struct rt_user *u = s->user;
    if (u->chat || u->pairing) {
        rt_send_error(s, "IN_CHAT", "Leave the current chat first.", ref);
        return;
    }
    const char *category = json_string_value(json_object_get(frame, "category"));
    int index = catalog_category_index(category);
    if (index < 0) {
        rt_send_error(s, "VALIDATION_FAILED", "category must be one of the category ids.", ref);
        return;
    }
    int fallback = json_is_true(json_object_get(frame, "fallbackAny"));
    u->waiting_deadline = 0;
    if (bus_enqueue(rt->bus, u->id, index, fallback, u->previous_partner, u->blocked,
                    u->blocked_count) != 0) {
        rt_send_error(s, "UNAVAILABLE", "The queue is full; try again soon.", ref);
        return;
    }
    reply(s,
          json_pack("{s:s, s:s, s:I}", "type", "match.waiting", "category", category, "waiting",
                    (json_int_t)bus_waiting_count(rt->bus, index)),
          ref);
}

void rt_handle_match_cancel(struct rt_socket *s, json_t *frame, json_t *ref) {
    (void)frame;
    bus_cancel(s->rt->bus, s->user->id);
    reply(s, json_pack("{s:s}", "type", "match.cancelled"), ref);
}

/* ---- pairing ---- */

struct pair_op {
    struct rt *rt;
    int64_t users[2];
    int category;
};

static void pairing_failed(struct rt *rt, struct pair_op *op) {
    for (int i = 0; i < 2; i++) {
        struct rt_user *u = rt_user_get(rt, op->users[i]);
        if (u)
            u->pairing = 0;
        rt_send_user(rt, op->users[i],
                     json_pack("{s:s, s:s, s:s}", "type", "error", "code", "UNAVAILABLE", "message",
                               "Could not start the chat; please try again."));
        rt_user_maybe_forget(rt, u);
    }
}

static void start_chat(struct rt *rt, struct pair_op *op, const store_chat *row) {
    struct rt_user *a = rt_user_ensure(rt, op->users[0]);
    struct rt_user *b = rt_user_ensure(rt, op->users[1]);
    struct rt_chat *c =
        a && b ? rt_chat_add(rt, row->id, op->category, &a->info, &b->info, row->started_at_ms)
               : NULL;
    if (!c) {
        pairing_failed(rt, op);
        return;
    }
    uint64_t now = uv_now(rt->app->loop);
    struct rt_user *users[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        users[i]->pairing = 0;
        users[i]->chat = c;
        if (users[i]->socket_count == 0) /* gone while the chat was being created */
            c->offline_deadline[i] = now + RT_RECONNECT_WINDOW_MS;
        rt_send_user(rt, users[i]->id,
                     json_pack("{s:s, s:o}", "type", "match.found", "chat", rt_chat_json(c, i)));
    }
}

static void on_chat_created(int status, const store_chat *row, void *arg) {
    struct pair_op *op = arg;
    if (status == STORE_OK && !op->rt->shutting_down)
        start_chat(op->rt, op, row);
    else
        pairing_failed(op->rt, op);
    free(op);
}

void rt_on_pair(void *ctx, int64_t a, int64_t b, int category) {
    struct rt *rt = ctx;
    struct pair_op *op = calloc(1, sizeof *op);
    struct rt_user *ua = rt_user_ensure(rt, a), *ub = rt_user_ensure(rt, b);
    if (!op || !ua || !ub) {
        free(op);
        return;
    }
    *op = (struct pair_op){rt, {a, b}, category};
    ua->pairing = ub->pairing = 1;
    ua->waiting_deadline = ub->waiting_deadline = 0;
    int rc = store_chat_create(rt->app->store, catalog_categories[category].id, a, b,
                               on_chat_created, op);
    if (rc != 0)
        on_chat_created(rc, NULL, op);
}

/* ---- counts ---- */

struct count {
    size_t online;
};

static void count_online(void *ctx, int64_t id, void *value) {
    struct count *n = ctx;
    const struct rt_user *u = value;
    (void)id;
    if (u->socket_count > 0)
        n->online++;
}

json_t *rt_stats_json(struct rt *rt) {
    struct count n = {0};
    imap_each(rt->users, count_online, &n);
    json_t *waiting = json_object();
    for (size_t i = 0; i < catalog_category_count; i++)
        json_object_set_new(waiting, catalog_categories[i].id,
                            json_integer((json_int_t)bus_waiting_count(rt->bus, (int)i)));
    return json_pack("{s:I, s:o, s:I}", "online", (json_int_t)n.online, "waiting", waiting,
                     "chatting", (json_int_t)(2 * imap_count(rt->chats)));
}

struct stats_send {
    struct rt *rt;
    char *text;
    size_t len;
};

static void send_stats_if_waiting(void *ctx, int64_t id, void *value) {
    struct stats_send *st = ctx;
    struct rt_user *u = value;
    int category;
    if (u->socket_count == 0 || !bus_waiting_category(st->rt->bus, id, &category))
        return;
    for (struct rt_socket *s = u->sockets; s; s = s->next)
        if (!s->gone)
            ws_send_text(s->ws, st->text, st->len);
}

void rt_send_stats(struct rt *rt) {
    if (bus_waiting_count(rt->bus, -1) == 0)
        return;
    json_t *stats = rt_stats_json(rt);
    json_object_set_new(stats, "type", json_string("stats"));
    struct stats_send st = {rt, json_dumps(stats, JSON_COMPACT), 0};
    json_decref(stats);
    if (!st.text)
        return;
    st.len = strlen(st.text);
    imap_each(rt->users, send_stats_if_waiting, &st);
    free(st.text);
}
