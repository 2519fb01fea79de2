/* ops.c — /healthz, /readyz and /metrics. /readyz asks the store (a trivial query on its thread);
 * /metrics renders util/metrics.h and process figures in Prometheus text format 0.0.4. */
#include "api/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "net/http_reply.h"
#include "util/buf.h"
#include "util/metrics.h"

#define READYZ_RETRY_AFTER_S 5

static void handle_healthz(http_request *req, void *ctx) {
    static const char body[] = "{\"status\":\"ok\"}";
    (void)ctx;
    http_reply(req, 200, "application/json; charset=utf-8", body, sizeof body - 1, NULL);
}

static void on_store_ping(int status, void *arg) {
    http_request *req = arg;
    if (status == STORE_OK)
        http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
    else
        http_reply_error_full(req, ERR_UNAVAILABLE, "The database is not reachable.", NULL,
                              READYZ_RETRY_AFTER_S, NULL);
}

static void handle_readyz(http_request *req, void *ctx) {
    struct app *app = ctx;
    if (store_ping(app->store, on_store_ping, req) != 0)
        on_store_ping(STORE_ERR_UNAVAILABLE, req);
}

static long process_rss_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void render_requests(buf *b) {
    buf_append_cstr(b, "# HELP convo_http_requests_total HTTP requests by route and status.\n"
                       "# TYPE convo_http_requests_total counter\n");
    for (size_t i = 0; i < metrics.route_count; i++) {
        const struct metrics_route *r = &metrics.routes[i];
        for (int k = 0; k < METRICS_STATUSES_MAX && r->statuses[k]; k++)
            buf_append_printf(b, "convo_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                              r->name, r->statuses[k], (unsigned long long)r->counts[k]);
    }
}

/* One histogram in Prometheus text: NAME_bucket{le=…} (cumulative), NAME_sum, NAME_count. */
static void render_histogram(buf *b, const char *name, const char *help,
                             const struct metrics_histogram *h) {
    buf_append_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        cumulative += h->buckets[i];
        if (i == METRICS_LATENCY_BUCKETS - 1)
            buf_append_printf(b, "%s_bucket{le=\"+Inf\"} ", name);
        else
            buf_append_printf(b, "%s_bucket{le=\"%g\"} ", name, metrics_latency_bounds[i]);
        buf_append_u64(b, cumulative);
        buf_append_cstr(b, "\n");
    }
    buf_append_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum_seconds, name,
                      (unsigned long long)h->count);
}

static void render_latency(buf *b) {
    render_histogram(b, "convo_http_request_duration_seconds", "Time from first byte to reply.",
                     &metrics.http_latency);
    render_histogram(b, "convo_ws_msg_ack_seconds",
                     "Time from a msg.send frame to its msg.ack (durable commit included).",
                     &metrics.msg_ack);
}

static void render_gauges(buf *b, struct app *app) {
    buf_append_printf(b,
                      "# TYPE convo_http_connections_open gauge\nconvo_http_connections_open %lld\n"
                      "# TYPE convo_http_connections_total counter\n"
                      "convo_http_connections_total %llu\n",
                      (long long)metrics.connections_open,
                      (unsigned long long)metrics.connections_total);
    buf_append_printf(
        b,
        "# TYPE convo_process_resident_memory_bytes gauge\n"
        "convo_process_resident_memory_bytes %ld\n"
        "# TYPE convo_process_uptime_seconds gauge\nconvo_process_uptime_seconds %.3f\n",
        process_rss_bytes(), (double)(uv_hrtime() / 1000000 - app->started_at_ms) / 1000.0);
    buf_append_printf(b,
                      "# TYPE convo_store_commits_total counter\nconvo_store_commits_total %llu\n"
                      "# TYPE convo_store_jobs_total counter\nconvo_store_jobs_total %llu\n"
                      "# HELP convo_store_unfolded_messages Messages acknowledged but not yet in "
                      "their table.\n"
                      "# TYPE convo_store_unfolded_messages gauge\nconvo_store_unfolded_messages "
                      "%llu\n",
                      (unsigned long long)store_commits(app->store),
                      (unsigned long long)store_jobs(app->store),
                      (unsigned long long)store_unfolded(app->store));
    buf_append_cstr(b, "# HELP convo_limit_hits_total Requests or connections stopped by a limit.\n"
                       "# TYPE convo_limit_hits_total counter\n");
    for (int i = 0; i < LIMIT__COUNT; i++)
        buf_append_printf(b, "convo_limit_hits_total{limit=\"%s\"} %llu\n",
                          metrics_limit_name((enum metrics_limit)i),
                          (unsigned long long)metrics.limit_hits[i]);
}

static void handle_metrics(http_request *req, void *ctx) {
    buf b;
    buf_init(&b, 4096);
    render_requests(&b);
    render_latency(&b);
    render_gauges(&b, ctx);
    if (b.failed)
        http_reply_error(req, ERR_INTERNAL, NULL);
    else
        http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    buf_free(&b);
}

int ops_register(struct app *app) {
    uint64_t get = ROUTE_METHOD(HTTP_GET);
    int rc = router_add(app->router, get, "/healthz", handle_healthz, app, 0);
    rc |= router_add(app->router, get, "/readyz", handle_readyz, app, 0);
    rc |= router_add(app->router, get, "/metrics", handle_metrics, app, 0);
    return rc;
}
