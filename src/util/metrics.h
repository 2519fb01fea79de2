/* metrics.h — process-wide counters for /metrics, touched only on the loop thread (no locks).
 * Requests by route and status, latency histograms (HTTP requests; msg.send to its durable
 * msg.ack), limit hits by name. Rendering in Prometheus text format lives in api/ops.c.
 */
#ifndef CONVO_METRICS_H
#define CONVO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX      64 /* registered routes + "static" + "unmatched" */
#define METRICS_STATUSES_MAX    16 /* distinct status codes tracked per route */
#define METRICS_LATENCY_BUCKETS 12

enum metrics_limit {
    LIMIT_HEADER_BYTES = 0,
    LIMIT_BODY_BYTES,
    LIMIT_HEADER_TIMEOUT,
    LIMIT_BODY_TIMEOUT,
    LIMIT_IDLE_TIMEOUT,
    LIMIT_WRITE_TIMEOUT,
    LIMIT_CONNECTIONS,
    LIMIT_STORE_QUEUE,
    LIMIT_WS_OUTPUT,
    LIMIT_WS_RATE,
    LIMIT_LOGIN_RATE,
    LIMIT_PASSWORD_QUEUE,
    LIMIT__COUNT
};

struct metrics_route {
    const char *name;
    uint16_t statuses[METRICS_STATUSES_MAX];
    uint64_t counts[METRICS_STATUSES_MAX];
};

/* A latency histogram over metrics_latency_bounds. */
struct metrics_histogram {
    uint64_t buckets[METRICS_LATENCY_BUCKETS]; /* cumulative-free; summed on render */
    uint64_t count;
    double sum_seconds;
};

struct metrics {
    struct metrics_route routes[METRICS_ROUTES_MAX];
    size_t route_count;
    struct metrics_histogram http_latency; /* first byte of a request → its reply */
    struct metrics_histogram msg_ack;      /* a msg.send frame handled → its msg.ack queued */
    uint64_t limit_hits[LIMIT__COUNT];
    int64_t connections_open;
    uint64_t connections_total;
};

extern struct metrics metrics;
extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS]; /* seconds; last = +Inf */

/* Registers a route label and returns its index (or the "unmatched" index when full). */
int metrics_route_register(const char *name);
int metrics_route_static(void);
int metrics_route_unmatched(void);
void metrics_request_done(int route_index, int status, uint64_t duration_ns);
void metrics_observe(struct metrics_histogram *h, uint64_t duration_ns);
/* Counts a limit hit; logs the first hit of each limit once. */
void metrics_limit_hit(enum metrics_limit limit);
const char *metrics_limit_name(enum metrics_limit limit);

#endif
