/* local.c — the in-process bus (see bus.h): the matcher of rt/matcher.h behind the bus calls,
 * one timer armed for the next time a time rule (fallback, previous partner) can make a pair,
 * and delivery straight to this node's sockets. */
#include <stdlib.h>

#include "bus/bus.h"
#include "rt/matcher.h"

struct bus {
    uv_loop_t *loop;
    uv_timer_t timer;
    matcher *m;
    struct bus_handlers h;
    void *ctx;
    void (*done)(void *arg);
    void *done_arg;
};

static void bus_pair(void *ctx, int64_t a, int64_t b, int category) {
    bus *bs = ctx;
    bs->h.on_pair(bs->ctx, a, b, category);
}

static void on_timer(uv_timer_t *t);

/* Pairs whoever can be paired now and arms the timer for the next time rule. */
static void bus_run(bus *b) {
    uint64_t now = uv_now(b->loop);
    matcher_run(b->m, now, bus_pair, b);
    uint64_t next = matcher_next_deadline(b->m, now);
    if (next)
        uv_timer_start(&b->timer, on_timer, next > now ? next - now : 1, 0);
    else
        uv_timer_stop(&b->timer);
}

static void on_timer(uv_timer_t *t) {
    bus_run(t->data);
}

bus *bus_local_new(uv_loop_t *loop, size_t category_count, const struct bus_handlers *h,
                   void *ctx) {
    bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->m = matcher_new(category_count);
    if (!b->m) {
        free(b);
        return NULL;
    }
    b->loop = loop;
    b->h = *h;
    b->ctx = ctx;
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    return b;
}

static void on_timer_closed(uv_handle_t *h) {
    bus *b = h->data;
    if (b->done)
        b->done(b->done_arg);
}

void bus_shutdown(bus *b, void (*done)(void *arg), void *arg) {
    b->done = done;
    b->done_arg = arg;
    uv_close((uv_handle_t *)&b->timer, on_timer_closed);
}

void bus_free(bus *b) {
    if (!b)
        return;
    matcher_free(b->m);
    free(b);
}

int bus_enqueue(bus *b, int64_t user_id, int category, int fallback_any, int64_t previous_partner,
                const int64_t *blocked, size_t blocked_count) {
    int rc = matcher_enqueue(b->m, user_id, category, fallback_any, previous_partner, blocked,
                             blocked_count, uv_now(b->loop));
    if (rc == 0)
        bus_run(b);
    return rc;
}

int bus_cancel(bus *b, int64_t user_id) {
    int was_waiting = matcher_remove(b->m, user_id);
    if (was_waiting)
        bus_run(b); /* a departure can leave two previous partners alone together */
    return was_waiting;
}

void bus_add_block(bus *b, int64_t blocker, int64_t blocked) {
    matcher_add_block(b->m, blocker, blocked);
}

int bus_waiting_category(bus *b, int64_t user_id, int *category) {
    struct matcher_entry_info info;
    if (!matcher_lookup(b->m, user_id, &info))
        return 0;
    *category = info.category;
    return 1;
}

size_t bus_waiting_count(bus *b, int category) {
    return matcher_waiting(b->m, category);
}

void bus_publish(bus *b, int64_t user_id, const char *text, size_t len) {
    b->h.on_deliver(b->ctx, user_id, text, len);
}
