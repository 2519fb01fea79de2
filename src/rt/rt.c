/* rt.c — the real-time layer's entry points (see rt.h): start (state, bus, /ws, restoring the
 * active chats a previous run left), delivery of bus events to this node's sockets, the safety
 * actions triggered over REST, stats, and the orderly stop. */
#include "rt/rt.h"

#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"
#include "util/catalog.h"
#include "util/log.h"

static void on_deliver(void *ctx, int64_t user_id, const char *text, size_t len) {
    struct rt *rt = ctx;
    struct rt_user *u = rt_user_get(rt, user_id);
    for (struct rt_socket *s = u ? u->sockets : NULL; s; s = s->next)
        if (!s->gone)
            ws_send_text(s->ws, text, len);
}

/* Chats left active by the previous run: both users are away until they reconnect. */
static void on_active_chats(int status, const store_chat_summary *chats, size_t count, void *arg) {
    struct rt *rt = arg;
    uint64_t deadline = uv_now(rt->app->loop) + RT_RECONNECT_WINDOW_MS;
    rt->loaded = 1;
    if (status != STORE_OK) {
        log_error("could not restore active chats");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const store_chat_summary *sum = &chats[i];
        struct rt_public a = {.id = sum->viewer_id}, b = {.id = sum->partner.id};
        snprintf(b.nickname, sizeof b.nickname, "%s",
                 sum->partner.nickname ? sum->partner.nickname : "");
        struct rt_chat *c = rt_chat_add(rt, sum->id, catalog_category_index(sum->category), &a, &b,
                                        sum->started_at_ms);
        if (!c)
            continue;
        c->last_seq = sum->last_seq;
        c->read_seq[0] = sum->my_read_seq;
        c->read_seq[1] = sum->partner_read_seq;
        c->offline_deadline[0] = c->offline_deadline[1] = deadline;
    }
}

static int restore_active_chats(struct rt *rt) {
    if (store_chats_active(rt->app->store, on_active_chats, rt) != 0)
        return -1;
    while (!rt->loaded) /* before the server accepts: nothing else runs yet */
        uv_run(rt->app->loop, UV_RUN_ONCE);
    return 0;
}

int rt_start(struct app *app) {
    struct rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return -1;
    app->rt = rt;
    rt->app = app;
    rt->users = imap_new();
    rt->chats = imap_new();
    struct bus_handlers h = {.on_pair = rt_on_pair, .on_deliver = on_deliver};
    rt->bus = bus_local_new(app->loop, catalog_category_count, &h, rt);
    if (!rt->users || !rt->chats || !rt->bus || rt_register_ws(app) != 0 ||
        restore_active_chats(rt) != 0)
        return -1;
    rt_sweep_start(rt);
    return 0;
}

/* ---- safety actions from REST ---- */

void rt_on_block(struct app *app, int64_t blocker, int64_t blocked) {
    struct rt *rt = app->rt;
    bus_add_block(rt->bus, blocker, blocked);
    struct rt_user *u = rt_user_get(rt, blocker);
    if (!u)
        return;
    size_t i = 0;
    while (i < u->blocked_count && u->blocked[i] != blocked)
        i++;
    int64_t *grown =
        i < u->blocked_count ? NULL : realloc(u->blocked, (u->blocked_count + 1) * sizeof *grown);
    if (grown) {
        grown[u->blocked_count++] = blocked;
        u->blocked = grown;
    }
    struct rt_chat *c = u->chat;
    if (c && rt_chat_side(c, blocked) >= 0)
        rt_chat_end(rt, c, blocker, "blocked", "partner_left");
}

void rt_on_unblock(struct app *app, int64_t blocker, int64_t blocked) {
    struct rt_user *u = rt_user_get(app->rt, blocker);
    for (size_t i = 0; u && i < u->blocked_count; i++) {
        if (u->blocked[i] == blocked) {
            u->blocked[i] = u->blocked[--u->blocked_count];
            return; /* the queue learns it at the user's next match.start */
        }
    }
}

void rt_on_report(struct app *app, int64_t reporter, int64_t chat_id) {
    struct rt_chat *c = imap_get(app->rt->chats, chat_id);
    if (c && rt_chat_side(c, reporter) >= 0)
        rt_chat_end(app->rt, c, reporter, "reported", "partner_left");
}

void rt_on_ban(struct app *app, int64_t user_id) {
    struct rt *rt = app->rt;
    bus_cancel(rt->bus, user_id);
    struct rt_user *u = rt_user_get(rt, user_id);
    if (!u)
        return;
    if (u->chat)
        rt_chat_end(rt, u->chat, user_id, "banned", "partner_left");
    for (struct rt_socket *s = u->sockets; s; s = s->next)
        if (!s->gone)
            ws_close(s->ws, 4403, "banned");
}

json_t *rt_stats(struct app *app) {
    return rt_stats_json(app->rt);
}

/* ---- stop ---- */

struct rt_stop {
    void (*done)(void *arg);
    void *arg;
    int pending;
};

static void rt_stop_step(void *arg) {
    struct rt_stop *st = arg;
    if (--st->pending > 0)
        return;
    st->done(st->arg);
    free(st);
}

static void on_sweeper_closed(uv_handle_t *h) {
    struct rt *rt = h->data;
    rt_stop_step(rt->stop);
}

void rt_shutdown(struct app *app, void (*done)(void *arg), void *arg) {
    struct rt *rt = app->rt;
    struct rt_stop *st = calloc(1, sizeof *st);
    rt->shutting_down = 1;
    if (!st) {
        done(arg);
        return;
    }
    *st = (struct rt_stop){done, arg, 1};
    rt->stop = st;
    if (rt->sweeping) {
        st->pending++;
        uv_close((uv_handle_t *)&rt->sweeper, on_sweeper_closed);
    }
    if (rt->bus) {
        st->pending++;
        bus_shutdown(rt->bus, rt_stop_step, st);
    }
    rt_stop_step(st); /* the 1 held while starting the steps */
}

static void free_user(void *ctx, int64_t id, void *value) {
    struct rt_user *u = value;
    (void)ctx, (void)id;
    free(u->blocked);
    free(u);
}

static void free_chat(void *ctx, int64_t id, void *value) {
    (void)ctx, (void)id;
    free(value);
}

void rt_free(struct app *app) {
    struct rt *rt = app->rt;
    if (!rt)
        return;
    if (rt->users)
        imap_each(rt->users, free_user, NULL);
    if (rt->chats)
        imap_each(rt->chats, free_chat, NULL);
    imap_free(rt->users);
    imap_free(rt->chats);
    bus_free(rt->bus);
    buf_free(&rt->frame);
    free(rt);
    app->rt = NULL;
}
