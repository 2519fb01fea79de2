/* idle.c — `relay idle`: reads the server's VmRSS (/proc/PID/status), opens K WebSockets (one per
 * user, tokens from a file, a bounded number of handshakes at once), authenticates each, waits
 * for the `ready` of all, lets the server settle, reads VmRSS again → bytes per idle socket;
 * then closes them all and reads VmRSS once more. Every wait has a deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define IDLE_IN_FLIGHT      256  /* default handshakes at once */
#define IDLE_CLOSE_WAIT_MS  5000 /* closing handshakes of all sockets */
#define IDLE_AFTER_CLOSE_MS 1000 /* before the last RSS reading */

enum idle_phase { IP_CONNECT, IP_SETTLE, IP_CLOSE, IP_AFTER, IP_DONE };

struct idle {
    const struct opts *o;
    uv_loop_t *loop;
    uv_timer_t deadline, phase_timer;
    enum idle_phase phase;
    wsc **ws;
    char **tokens;
    int next, in_flight, ready, closed, failed;
    long rss_before, rss_after, rss_closed;
    uint64_t t0_ns;
    double connect_s;
};

static void idle_open(wsc *c, void *user);
static void idle_text(wsc *c, void *user, const char *data, size_t len);
static void idle_close(wsc *c, void *user, int code);
static const struct wsc_handlers idle_handlers = {idle_open, idle_text, idle_close};

static struct idle *the_idle; /* handlers get the socket index as user data */

static void idle_connect_more(struct idle *d) {
    int limit = d->o->concurrency > 0 ? d->o->concurrency : IDLE_IN_FLIGHT;
    while (d->phase == IP_CONNECT && d->in_flight < limit && d->next < d->o->sockets) {
        int i = d->next++;
        d->ws[i] = wsc_connect(d->loop, d->o->port, &idle_handlers, (void *)(intptr_t)i);
        if (!d->ws[i])
            fatal("cannot create socket %d (ulimit -n?)", i);
        d->in_flight++;
    }
}

static void idle_open(wsc *c, void *user) {
    char frame[RELAY_TOKEN_MAX + 64];
    int i = (int)(intptr_t)user;
    snprintf(frame, sizeof frame, "{\"type\":\"auth\",\"token\":\"%s\"}", the_idle->tokens[i]);
    wsc_send_text(c, frame, strlen(frame));
}

static void idle_phase_timeout(uv_timer_t *t);

static void idle_text(wsc *c, void *user, const char *data, size_t len) {
    struct idle *d = the_idle;
    (void)c;
    (void)user;
    if (!scan_type_is(data, len, "ready"))
        return;
    d->in_flight--;
    if (++d->ready < d->o->sockets) {
        idle_connect_more(d);
        return;
    }
    d->connect_s = (double)(now_ns() - d->t0_ns) / 1e9;
    d->phase = IP_SETTLE;
    uv_timer_start(&d->phase_timer, idle_phase_timeout, (uint64_t)(d->o->settle_s * 1000), 0);
}

static void idle_close(wsc *c, void *user, int code) {
    struct idle *d = the_idle;
    int i = (int)(intptr_t)user;
    (void)c;
    d->ws[i] = NULL;
    if (d->phase < IP_CLOSE) {
        fprintf(stderr, "relay: idle socket %d closed early (code %d)\n", i, code);
        d->failed++;
        fatal("an idle socket was closed before the measurement");
    }
    if (++d->closed == d->o->sockets && d->phase == IP_CLOSE) {
        d->phase = IP_AFTER;
        uv_timer_start(&d->phase_timer, idle_phase_timeout, IDLE_AFTER_CLOSE_MS, 0);
    }
}

static void idle_close_all(struct idle *d) {
    d->phase = IP_CLOSE;
    for (int i = 0; i < d->o->sockets; i++)
        if (d->ws[i])
            wsc_close(d->ws[i], 1000);
    uv_timer_start(&d->phase_timer, idle_phase_timeout, IDLE_CLOSE_WAIT_MS, 0);
}

static void idle_phase_timeout(uv_timer_t *t) {
    struct idle *d = t->data;
    switch (d->phase) {
        case IP_SETTLE:
            d->rss_after = proc_rss_kib(d->o->pid);
            idle_close_all(d);
            break;
        case IP_CLOSE:
            fprintf(stderr, "relay: %d sockets not closed in time; dropping them\n",
                    d->o->sockets - d->closed);
            for (int i = 0; i < d->o->sockets; i++)
                if (d->ws[i])
                    wsc_abort(d->ws[i]);
            d->phase = IP_AFTER;
            uv_timer_start(&d->phase_timer, idle_phase_timeout, IDLE_AFTER_CLOSE_MS, 0);
            break;
        case IP_AFTER:
            d->rss_closed = proc_rss_kib(d->o->pid);
            d->phase = IP_DONE;
            uv_stop(d->loop);
            break;
        default:
            fatal("idle: connecting timed out (%d of %d ready)", d->ready, d->o->sockets);
    }
}

static void idle_deadline(uv_timer_t *t) {
    struct idle *d = t->data;
    fatal("idle run timed out after %.0f s (%d of %d ready)", d->o->timeout_s, d->ready,
          d->o->sockets);
}

static void idle_report(const struct idle *d) {
    int k = d->o->sockets;
    double per = (double)(d->rss_after - d->rss_before) * 1024.0 / k;
    printf("idle: sockets=%d connect_s=%.1f server_rss_before_kib=%ld server_rss_after_kib=%ld "
           "per_socket_bytes=%.0f server_rss_after_close_kib=%ld generator_rss_kib=%ld\n",
           k, d->connect_s, d->rss_before, d->rss_after, per, d->rss_closed,
           proc_rss_kib((int)uv_os_getpid()));
}

int idle_main(const struct opts *o) {
    struct idle d = {.o = o, .loop = uv_default_loop()};
    the_idle = &d;
    d.tokens = tokens_load(o->tokens, o->first, o->sockets);
    d.ws = xcalloc((size_t)o->sockets, sizeof *d.ws);
    if ((d.rss_before = proc_rss_kib(o->pid)) < 0)
        fatal("cannot read /proc/%d/status", o->pid);
    uv_timer_init(d.loop, &d.deadline);
    uv_timer_init(d.loop, &d.phase_timer);
    d.deadline.data = d.phase_timer.data = &d;
    uv_timer_start(&d.deadline, idle_deadline, (uint64_t)(o->timeout_s * 1000), 0);
    d.t0_ns = now_ns();
    idle_connect_more(&d);
    uv_run(d.loop, UV_RUN_DEFAULT);
    idle_report(&d);
    uv_close((uv_handle_t *)&d.deadline, NULL);
    uv_close((uv_handle_t *)&d.phase_timer, NULL);
    wsc_module_close();
    uv_run(d.loop, UV_RUN_DEFAULT);
    tokens_free(d.tokens, o->sockets);
    free(d.ws);
    return 0;
}
