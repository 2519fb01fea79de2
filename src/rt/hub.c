/* hub.c — who is on this node: users (by id) with their sockets, and active chats (by id);
 * presence (a user's last socket gone → the partner hears partner.presence, and the chat ends
 * after RT_RECONNECT_WINDOW_MS; a waiting user leaves the queue after RT_QUEUE_ABSENCE_MS); the
 * end of a chat; one sweeper timer for those deadlines and the periodic stats.
 * Owns struct rt_user and struct rt_chat. Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"
#include "util/log.h"

#define RT_SWEEP_INTERVAL_MS 500
#define RT_STATS_INTERVAL_MS 5000 /* stats to waiting users at most this often */

struct rt_user *rt_user_get(struct rt *rt, int64_t id) {
    return imap_get(rt->users, id);
}

struct rt_user *rt_user_ensure(struct rt *rt, int64_t id) {
    struct rt_user *u = imap_get(rt->users, id);
    if (u)
        return u;
    u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->id = id;
    u->info.id = id;
    if (imap_put(rt->users, id, u) != 0) {
        free(u);
        return NULL;
    }
    return u;
}

static int user_waiting(struct rt *rt, const struct rt_user *u) {
    int category;
    return bus_waiting_category(rt->bus, u->id, &category);
}

/* A user with no socket, no chat and no place in a queue is forgotten (reloaded on next auth). */
void rt_user_maybe_forget(struct rt *rt, struct rt_user *u) {
    if (!u || u->socket_count > 0 || u->chat || u->pairing || user_waiting(rt, u))
        return;
    imap_del(rt->users, u->id);
    free(u->blocked);
    free(u);
}

void rt_user_set_blocked(struct rt_user *u, const int64_t *ids, size_t count) {
    free(u->blocked);
    u->blocked = NULL;
    u->blocked_count = 0;
    if (count == 0 || !(u->blocked = malloc(count * sizeof *ids)))
        return;
    memcpy(u->blocked, ids, count * sizeof *ids);
    u->blocked_count = count;
}

static void send_presence(struct rt *rt, struct rt_chat *c, int side, int online) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    rt_send_user(
        rt, c->users[1 - side],
        json_pack("{s:s, s:s, s:b}", "type", "partner.presence", "chatId", id, "online", online));
}

void rt_user_attach(struct rt *rt, struct rt_user *u, struct rt_socket *s) {
    s->user = u;
    s->prev = NULL;
    s->next = u->sockets;
    if (u->sockets)
        u->sockets->prev = s;
    u->sockets = s;
    if (u->socket_count++ > 0)
        return;
    u->waiting_deadline = 0; /* back in time: still in the queue */
    struct rt_chat *c = u->chat;
    int side = c ? rt_chat_side(c, u->id) : -1;
    if (side >= 0 && c->offline_deadline[side]) {
        c->offline_deadline[side] = 0;
        send_presence(rt, c, side, 1);
    }
}

void rt_user_detach(struct rt *rt, struct rt_socket *s) {
    struct rt_user *u = s->user;
    if (!u)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        u->sockets = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->user = NULL;
    if (--u->socket_count > 0)
        return;
    uint64_t now = uv_now(rt->app->loop);
    struct rt_chat *c = u->chat;
    int side = c ? rt_chat_side(c, u->id) : -1;
    if (side >= 0 && !rt->shutting_down) {
        c->offline_deadline[side] = now + RT_RECONNECT_WINDOW_MS;
        send_presence(rt, c, side, 0);
    }
    if (user_waiting(rt, u))
        u->waiting_deadline = now + RT_QUEUE_ABSENCE_MS;
    rt_user_maybe_forget(rt, u);
}

/* ---- chats ---- */

struct rt_chat *rt_chat_add(struct rt *rt, int64_t id, int category, const struct rt_public *a,
                            const struct rt_public *b, int64_t started_at_ms) {
    struct rt_chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->id = id;
    c->category = category;
    c->users[0] = a->id;
    c->users[1] = b->id;
    c->info[0] = *a;
    c->info[1] = *b;
    c->started_at_ms = started_at_ms;
    if (imap_put(rt->chats, id, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void send_ended(struct rt *rt, int64_t chat_id, int64_t user_id, const char *reason) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)chat_id);
    rt_send_user(
        rt, user_id,
        json_pack("{s:s, s:s, s:s}", "type", "chat.ended", "chatId", id, "reason", reason));
}

static void release_user_from_chat(struct rt *rt, struct rt_chat *c, int side) {
    struct rt_user *u = rt_user_get(rt, c->users[side]);
    if (!u)
        return;
    if (u->chat == c)
        u->chat = NULL;
    u->previous_partner = c->users[1 - side];
    rt_user_maybe_forget(rt, u);
}

/* Ends c for both: by gets reason_actor, the other reason_other; the store records it. */
void rt_chat_end(struct rt *rt, struct rt_chat *c, int64_t by, const char *reason_actor,
                 const char *reason_other) {
    if (c->ended)
        return;
    c->ended = 1;
    int actor = rt_chat_side(c, by);
    if (actor < 0)
        actor = 0;
    send_ended(rt, c->id, c->users[actor], reason_actor);
    send_ended(rt, c->id, c->users[1 - actor], reason_other);
    store_chat_end(rt->app->store, c->id, c->users[actor], reason_actor, NULL, NULL);
    imap_del(rt->chats, c->id);
    release_user_from_chat(rt, c, 0);
    release_user_from_chat(rt, c, 1);
    free(c);
}

/* ---- the sweeper: reconnect windows, queue absences, stats ---- */

struct sweep {
    uint64_t now;
    int64_t ids[256];
    size_t count;
};

static void collect_expired_chat(void *ctx, int64_t id, void *value) {
    struct sweep *sw = ctx;
    struct rt_chat *c = value;
    for (int side = 0; side < 2; side++)
        if (c->offline_deadline[side] && sw->now >= c->offline_deadline[side] &&
            sw->count < sizeof sw->ids / sizeof sw->ids[0]) {
            sw->ids[sw->count++] = id;
            return;
        }
}

static void collect_expired_waiting(void *ctx, int64_t id, void *value) {
    struct sweep *sw = ctx;
    struct rt_user *u = value;
    if (u->waiting_deadline && sw->now >= u->waiting_deadline &&
        sw->count < sizeof sw->ids / sizeof sw->ids[0])
        sw->ids[sw->count++] = id;
}

static void end_abandoned_chats(struct rt *rt, uint64_t now) {
    struct sweep sw = {.now = now};
    imap_each(rt->chats, collect_expired_chat, &sw);
    for (size_t i = 0; i < sw.count; i++) {
        struct rt_chat *c = imap_get(rt->chats, sw.ids[i]);
        int gone = c->offline_deadline[0] && now >= c->offline_deadline[0] ? 0 : 1;
        rt_chat_end(rt, c, c->users[gone], "disconnected", "partner_disconnected");
    }
}

static void drop_absent_waiters(struct rt *rt, uint64_t now) {
    struct sweep sw = {.now = now};
    imap_each(rt->users, collect_expired_waiting, &sw);
    for (size_t i = 0; i < sw.count; i++) {
        struct rt_user *u = imap_get(rt->users, sw.ids[i]);
        u->waiting_deadline = 0;
        bus_cancel(rt->bus, u->id);
        rt_user_maybe_forget(rt, u);
    }
}

static void on_sweep(uv_timer_t *t) {
    struct rt *rt = t->data;
    uint64_t now = uv_now(rt->app->loop);
    end_abandoned_chats(rt, now);
    drop_absent_waiters(rt, now);
    if (now >= rt->last_stats_ms + RT_STATS_INTERVAL_MS) {
        rt->last_stats_ms = now;
        rt_send_stats(rt);
    }
}

void rt_sweep_start(struct rt *rt) {
    uv_timer_init(rt->app->loop, &rt->sweeper);
    rt->sweeping = 1;
    rt->sweeper.data = rt;
    uv_timer_start(&rt->sweeper, on_sweep, RT_SWEEP_INTERVAL_MS, RT_SWEEP_INTERVAL_MS);
    uv_unref((uv_handle_t *)&rt->sweeper);
}
