/* bus.h — what nodes share: the matching queues and delivery of events to a user's sockets
 * wherever they are connected. rt/ talks to other nodes only through this interface; bus/local.c
 * is the in-process implementation (one node); a Redis implementation pairs users atomically
 * across nodes behind the same calls.
 *
 * Calls are made and callbacks fire on the loop thread. A pair is reported once, to one node.
 */
#ifndef CONVO_BUS_H
#define CONVO_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct bus bus;

struct bus_handlers {
    /* Two users were paired (both have left the queues): a waited longest; category is a's. */
    void (*on_pair)(void *ctx, int64_t a, int64_t b, int category);
    /* An event for user_id's sockets on this node (text is a JSON frame, len bytes). */
    void (*on_deliver)(void *ctx, int64_t user_id, const char *text, size_t len);
};

/* The in-process bus. */
bus *bus_local_new(uv_loop_t *loop, size_t category_count, const struct bus_handlers *h, void *ctx);
/* Stops its timers; calls done (on the loop) when its handles are closed; then bus_free. */
void bus_shutdown(bus *b, void (*done)(void *arg), void *arg);
void bus_free(bus *b);

/* Queues user in category (moving them when they wait elsewhere) and pairs whoever can be paired
 * now; more pairs may come later as time rules apply. 0, or -1 (bad category, full, no memory). */
int bus_enqueue(bus *b, int64_t user_id, int category, int fallback_any, int64_t previous_partner,
                const int64_t *blocked, size_t blocked_count);
/* 1 when the user was waiting and has left the queue, else 0. */
int bus_cancel(bus *b, int64_t user_id);
void bus_add_block(bus *b, int64_t blocker, int64_t blocked);
/* 1 and *category when the user waits, else 0. */
int bus_waiting_category(bus *b, int64_t user_id, int *category);
size_t bus_waiting_count(bus *b, int category); /* -1 = all */

/* Sends a JSON frame to every socket of user_id on every node. */
void bus_publish(bus *b, int64_t user_id, const char *text, size_t len);

#endif
