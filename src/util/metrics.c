/* metrics.c — the counters behind /metrics (see metrics.h). Loop thread only. */
#include "util/metrics.h"

#include "util/log.h"

struct metrics metrics;

const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1e300};

static const char *const limit_names[LIMIT__COUNT] = {
    [LIMIT_HEADER_BYTES] = "header_bytes",     [LIMIT_BODY_BYTES] = "body_bytes",
    [LIMIT_HEADER_TIMEOUT] = "header_timeout", [LIMIT_BODY_TIMEOUT] = "body_timeout",
    [LIMIT_IDLE_TIMEOUT] = "idle_timeout",     [LIMIT_WRITE_TIMEOUT] = "write_timeout",
    [LIMIT_CONNECTIONS] = "connections",       [LIMIT_STORE_QUEUE] = "store_queue",
    [LIMIT_WS_OUTPUT] = "ws_output",           [LIMIT_WS_RATE] = "ws_rate",
    [LIMIT_LOGIN_RATE] = "login_rate",         [LIMIT_PASSWORD_QUEUE] = "password_queue",
};

static int route_index(const char *name) {
    for (size_t i = 0; i < metrics.route_count; i++)
        if (metrics.routes[i].name == name)
            return (int)i;
    if (metrics.route_count == METRICS_ROUTES_MAX)
        return -1;
    metrics.routes[metrics.route_count].name = name;
    return (int)metrics.route_count++;
}

int metrics_route_static(void) {
    static int index = -2;
    if (index == -2)
        index = route_index("static");
    return index;
}

int metrics_route_unmatched(void) {
    static int index = -2;
    if (index == -2)
        index = route_index("unmatched");
    return index;
}

int metrics_route_register(const char *name) {
    /* Keep the last two slots for "static" and "unmatched". */
    metrics_route_static();
    metrics_route_unmatched();
    int i = route_index(name);
    return i < 0 ? metrics_route_unmatched() : i;
}

static void count_status(struct metrics_route *r, int status) {
    for (int i = 0; i < METRICS_STATUSES_MAX; i++) {
        if (r->statuses[i] == status || r->statuses[i] == 0) {
            r->statuses[i] = (uint16_t)status;
            r->counts[i]++;
            return;
        }
    }
    r->counts[METRICS_STATUSES_MAX - 1]++; /* full: lump into the last slot */
}

void metrics_request_done(int route, int status, uint64_t duration_ns) {
    if (route < 0 || (size_t)route >= metrics.route_count)
        route = metrics_route_unmatched();
    if (route >= 0)
        count_status(&metrics.routes[route], status);
    metrics_observe(&metrics.http_latency, duration_ns);
}

void metrics_observe(struct metrics_histogram *h, uint64_t duration_ns) {
    double seconds = (double)duration_ns / 1e9;
    int b = 0;
    while (b < METRICS_LATENCY_BUCKETS - 1 && seconds > metrics_latency_bounds[b])
        b++;
    h->buckets[b]++;
    h->count++;
    h->sum_seconds += seconds;
}

void metrics_limit_hit(enum metrics_limit limit) {
    if (limit >= LIMIT__COUNT)
        return;
    if (metrics.limit_hits[limit]++ == 0)
        log_warn("limit reached (logged once per limit)", "limit", limit_names[limit]);
}

const char *metrics_limit_name(enum metrics_limit limit) {
    return limit < LIMIT__COUNT ? limit_names[limit] : "unknown";
}
