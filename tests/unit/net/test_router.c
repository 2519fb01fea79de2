/* test_router.c — tests of net/router.c and net/static.c through a real server on 127.0.0.1
 * (router_dispatch as the dispatch callback, static_serve as the fallback): path parameters,
 * 404 under /api, 405 with Allow, HEAD on GET routes, the JSON body checks of ROUTE_JSON_BODY
 * routes (415/400, req->json), and the embedded web client (ETag/304, client routes, JSON 404,
 * 405). A libuv client in the same loop checks the bytes; every wait is bounded by a uv_timer
 * guard; every test ends with uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "limits.h"
#include "net/http.h"
#include "net/http_reply.h"
#include "net/router.h"
#include "net/static.h"
#include "util/buf.h"
#include "util/embed.h"

#define WAIT_MS          3000
#define SHUTDOWN_WAIT_MS (HTTP_LINGER_MS + 3000)
#define MAX_CLIENTS      4
#define MAX_RESPONSES    32
#define MAX_REQUESTS     64

struct response {
    int status;
    char *head; /* status line and headers, NUL-terminated */
    char *body;
    size_t body_len;
};

struct fixture;

struct client {
    struct fixture *f;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    int open, closing, closed;
    int connected, connect_status;
    int eof, bad_response;
    size_t want;
    char is_head[MAX_REQUESTS]; /* per request sent: 1 when it was HEAD (reply has no body) */
    size_t sent;
    buf in;
    struct response responses[MAX_RESPONSES];
    size_t count;
};

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard;
    int guard_fired, guard_closed;
    http_server *server;
    router *router;
    int port;
    int shutdown_started, server_done, loop_closed;
    struct client clients[MAX_CLIENTS];
    size_t client_count;
    char read_buf[65536];
};

/* ---- bounded waiting ---- */

typedef int (*cond_fn)(const void *arg);

static void on_guard(uv_timer_t *t) {
    ((struct fixture *)t->data)->guard_fired = 1;
}

static int wait_for(struct fixture *f, cond_fn done, const void *arg, uint64_t ms) {
    f->guard_fired = 0;
    uv_timer_start(&f->guard, on_guard, ms, 0);
    while (!done(arg) && !f->guard_fired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->guard);
    return done(arg);
}

static int cond_server_done(const void *arg) {
    return ((const struct fixture *)arg)->server_done;
}

static int cond_clients_closed(const void *arg) {
    const struct fixture *f = arg;
    for (size_t i = 0; i < f->client_count; i++)
        if (f->clients[i].open && !f->clients[i].closed)
            return 0;
    return 1;
}

static int cond_connected(const void *arg) {
    return ((const struct client *)arg)->connected;
}

static int cond_responses(const void *arg) {
    const struct client *c = arg;
    return c->count >= c->want || c->eof;
}

/* ---- responses ---- */

static int header_get(const char *head, const char *name, char *out, size_t outlen) {
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + len - v);
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }
        line = eol;
    }
    return 0;
}

/* Moves one complete response from c->in to c->responses; 0 when none is complete yet. */
static int client_parse_one(struct client *c) {
    const char *data = c->in.data;
    const char *end = data ? memmem(data, c->in.len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return 0;
    size_t head_len = (size_t)(end - data);
    int status = 0;
    if (sscanf(data, "HTTP/1.1 %3d ", &status) != 1 || c->count == MAX_RESPONSES) {
        c->bad_response = 1;
        return 0;
    }
    char *head = strndup(data, head_len);
    char cl[32];
    size_t body_len = 0;
    int bodiless = c->is_head[c->count] || status == 204 || status == 304;
    if (!bodiless && header_get(head, "content-length", cl, sizeof cl))
        body_len = strtoul(cl, NULL, 10);
    if (c->in.len < head_len + 4 + body_len) {
        free(head);
        return 0;
    }
    struct response *r = &c->responses[c->count++];
    r->status = status;
    r->head = head;
    r->body = malloc(body_len + 1);
    memcpy(r->body, data + head_len + 4, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    buf_consume(&c->in, head_len + 4 + body_len);
    return 1;
}

/* ---- the client ---- */

static void client_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    struct client *c = h->data;
    (void)suggested;
    *b = uv_buf_init(c->f->read_buf, sizeof c->f->read_buf);
}

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    struct client *c = s->data;
    if (n < 0) {
        c->eof = 1;
        uv_read_stop(s);
        return;
    }
    buf_append(&c->in, b->base, (size_t)n);
    while (client_parse_one(c))
        ;
}

static void client_on_connect(uv_connect_t *req, int status) {
    struct client *c = req->data;
    c->connected = 1;
    c->connect_status = status;
}

static void client_on_closed(uv_handle_t *h) {
    ((struct client *)h->data)->closed = 1;
}

static struct client *client_open(struct fixture *f) {
    assert_true(f->client_count < MAX_CLIENTS);
    struct client *c = &f->clients[f->client_count++];
    c->f = f;
    assert_int_equal(uv_tcp_init(&f->loop, &c->tcp), 0);
    c->tcp.data = c;
    c->open = 1;
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", f->port, &addr), 0);
    c->connect_req.data = c;
    assert_int_equal(
        uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&addr, client_on_connect), 0);
    assert_true(wait_for(f, cond_connected, c, WAIT_MS));
    assert_int_equal(c->connect_status, 0);
    uv_tcp_nodelay(&c->tcp, 1);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, client_on_alloc, client_on_read), 0);
    return c;
}

static void client_close(struct client *c) {
    if (c->open && !c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, client_on_closed);
    }
}

struct write_req {
    uv_write_t req; /* first: the callback casts back */
    char data[];
};

static void client_on_write(uv_write_t *w, int status) {
    (void)status;
    free(w);
}

/* Sends one request (raw bytes); the client remembers whether it was HEAD. */
static void client_send(struct client *c, const char *request) {
    size_t len = strlen(request);
    assert_true(c->sent < MAX_REQUESTS);
    c->is_head[c->sent++] = strncmp(request, "HEAD ", 5) == 0;
    struct write_req *wr = malloc(sizeof *wr + len);
    assert_non_null(wr);
    memcpy(wr->data, request, len);
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    assert_int_equal(uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, client_on_write), 0);
}

/* Sends a request and returns its response (owned by the client). */
static const struct response *exchange(struct client *c, const char *request) {
    size_t n = c->count + 1;
    client_send(c, request);
    c->want = n;
    wait_for(c->f, cond_responses, c, WAIT_MS);
    assert_false(c->bad_response);
    if (c->count < n)
        fail_msg("no complete response to: %s(%zu bytes unparsed: %.80s)", request, c->in.len,
                 c->in.data ? c->in.data : "");
    return &c->responses[n - 1];
}

/* ---- routes under test ---- */

static const char THING[] = "/api/v1/things/{id}";
static const char PART[] = "/api/v1/things/{id}/parts/{pid}";

/* Replies {"route", "params": [...], "ctxOk", "json"} so the test sees what the handler saw. */
static void reply_seen(http_request *req, void *ctx, const char *route) {
    struct fixture *f = ctx;
    json_t *params = json_array();
    size_t len = 0;
    for (size_t i = 0; i < req->param_count; i++) {
        const char *p = http_request_param(req, i, &len);
        json_array_append_new(params, json_stringn(p, len));
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "route", json_string(route));
    json_object_set_new(doc, "params", params);
    json_object_set_new(doc, "outOfRange",
                        json_boolean(http_request_param(req, req->param_count, &len) == NULL));
    json_object_set_new(doc, "ctxOk", json_boolean(req->route_ctx == f && req->route_index >= 0));
    json_object_set_new(doc, "json", req->json ? json_deep_copy(req->json) : json_null());
    http_reply_json(req, 200, doc);
}

static void thing_get(http_request *req, void *ctx) {
    reply_seen(req, ctx, "thing");
}

static void part_get(http_request *req, void *ctx) {
    reply_seen(req, ctx, "part-get");
}

static void part_post(http_request *req, void *ctx) {
    reply_seen(req, ctx, "part-post");
}

static void on_server_done(void *arg) {
    ((struct fixture *)arg)->server_done = 1;
}

static void server_start(struct fixture *f) {
    f->router = router_new(static_serve, NULL);
    assert_non_null(f->router);
    assert_int_equal(router_add(f->router, ROUTE_METHOD(HTTP_GET), THING, thing_get, f, 0), 0);
    assert_int_equal(router_add(f->router, ROUTE_METHOD(HTTP_GET), PART, part_get, f, 0), 0);
    assert_int_equal(
        router_add(f->router, ROUTE_METHOD(HTTP_POST), PART, part_post, f, ROUTE_JSON_BODY), 0);
    struct http_server_options opt = {
        .host = "127.0.0.1", .port = 0, .dispatch = router_dispatch, .dispatch_ctx = f->router};
    assert_int_equal(http_server_start(&f->loop, &opt, &f->server), 0);
    char addr[64];
    assert_int_equal(http_server_address(f->server, addr, sizeof addr), 0);
    f->port = atoi(strrchr(addr, ':') + 1);
    assert_true(f->port > 0);
}

static void clients_close_all(struct fixture *f) {
    for (size_t i = 0; i < f->client_count; i++)
        client_close(&f->clients[i]);
}

static void loop_close_guard(struct fixture *f) {
    if (!f->guard_closed) {
        f->guard_closed = 1;
        uv_close((uv_handle_t *)&f->guard, NULL);
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* The end of every test: graceful shutdown, every handle closed, uv_loop_close() == 0. */
static void finish(struct fixture *f) {
    clients_close_all(f);
    f->shutdown_started = 1;
    http_server_shutdown(f->server, on_server_done, f);
    assert_true(wait_for(f, cond_server_done, f, SHUTDOWN_WAIT_MS));
    http_server_free(f->server);
    f->server = NULL;
    assert_true(wait_for(f, cond_clients_closed, f, WAIT_MS));
    loop_close_guard(f);
    int rc = uv_loop_close(&f->loop);
    if (rc != 0)
        uv_print_all_handles(&f->loop, stderr);
    assert_int_equal(rc, 0);
    f->loop_closed = 1;
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || uv_loop_init(&f->loop) != 0)
        return -1;
    uv_timer_init(&f->loop, &f->guard);
    f->guard.data = f;
    *state = f;
    return 0;
}

/* After a failed test: close what is left; leak rather than free memory a live handle uses. */
static int teardown(void **state) {
    struct fixture *f = *state;
    if (!f->loop_closed) {
        clients_close_all(f);
        if (f->server && !f->shutdown_started) {
            f->shutdown_started = 1;
            http_server_shutdown(f->server, on_server_done, f);
        }
        if (f->server && !wait_for(f, cond_server_done, f, SHUTDOWN_WAIT_MS)) {
            http_server_force_close(f->server);
            wait_for(f, cond_server_done, f, WAIT_MS);
        }
        if (f->server && f->server_done)
            http_server_free(f->server);
        wait_for(f, cond_clients_closed, f, WAIT_MS);
        loop_close_guard(f);
        if (uv_loop_close(&f->loop) != 0)
            return -1;
    }
    for (size_t i = 0; i < f->client_count; i++) {
        struct client *c = &f->clients[i];
        for (size_t j = 0; j < c->count; j++) {
            free(c->responses[j].head);
            free(c->responses[j].body);
        }
        buf_free(&c->in);
    }
    router_free(f->router);
    free(f);
    return 0;
}

/* ---- checks ---- */

static void assert_error_response(const struct response *r, int status, const char *code) {
    char ct[128] = "", rid[128] = "", got_code[64] = "", got_rid[128] = "";
    assert_int_equal(r->status, status);
    assert_true(header_get(r->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(header_get(r->head, "x-request-id", rid, sizeof rid));
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    if (!doc)
        fail_msg("error body is not JSON: %s", r->body);
    json_t *err = json_object_get(doc, "error");
    const char *s = json_string_value(json_object_get(err, "code"));
    snprintf(got_code, sizeof got_code, "%s", s ? s : "");
    s = json_string_value(json_object_get(err, "requestId"));
    snprintf(got_rid, sizeof got_rid, "%s", s ? s : "");
    json_decref(doc);
    assert_string_equal(got_code, code);
    assert_string_equal(got_rid, rid);
}

/* The handler's view (reply_seen) of a 200 response, as compact JSON for easy comparison. */
static void assert_seen(const struct response *r, const char *route, const char *params,
                        const char *json) {
    char want[512];
    snprintf(want, sizeof want,
             "{\"route\":\"%s\",\"params\":%s,\"outOfRange\":true,\"ctxOk\":true,\"json\":%s}",
             route, params, json);
    assert_int_equal(r->status, 200);
    json_t *got = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *exp = json_loads(want, 0, NULL);
    int same = got && exp && json_equal(got, exp);
    json_decref(got);
    json_decref(exp);
    if (!same)
        fail_msg("handler saw %s, expected %s", r->body, want);
}

static void assert_allow(const struct response *r, const char *const *methods) {
    char allow[128] = "";
    assert_true(header_get(r->head, "allow", allow, sizeof allow));
    for (; *methods; methods++)
        if (!strstr(allow, *methods))
            fail_msg("Allow: %s lacks %s", allow, *methods);
}

/* ---- routing ---- */

static void test_params_captured(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    assert_seen(exchange(c, "GET /api/v1/things/42 HTTP/1.1\r\n\r\n"), "thing", "[\"42\"]", "null");
    assert_seen(exchange(c, "GET /api/v1/things/42?x=1&y=/z HTTP/1.1\r\n\r\n"), "thing", "[\"42\"]",
                "null");
    assert_seen(exchange(c, "GET /api/v1/things/a-b_c/parts/7 HTTP/1.1\r\n\r\n"), "part-get",
                "[\"a-b_c\",\"7\"]", "null");
    assert_seen(exchange(c, "GET /api/v1/things/a%20b HTTP/1.1\r\n\r\n"), "thing", "[\"a%20b\"]",
                "null");
    finish(f);
}

static void test_unknown_api_path_404(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const char *paths[] = {"/api/v1/nothing",
                           "/api/v1/things",
                           "/api/v1/things/",
                           "/api/v1/things/1/",
                           "/api/v1/things//parts/2",
                           "/api/v1/things/1/parts/2/x",
                           "/api",
                           "/api/"};
    char req[160];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", paths[i]);
        const struct response *r = exchange(c, req);
        if (r->status != 404)
            fail_msg("GET %s → %d, expected 404", paths[i], r->status);
        assert_error_response(r, 404, "NOT_FOUND");
    }
    assert_false(c->eof); /* errors from the router keep the connection */
    finish(f);
}

static void test_wrong_method_405_with_allow(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const char *get_head[] = {"GET", "HEAD", NULL};
    const struct response *r = exchange(c, "DELETE /api/v1/things/1 HTTP/1.1\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    r = exchange(c, "POST /api/v1/things/1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    const char *all[] = {"GET", "HEAD", "POST", NULL};
    r = exchange(c, "PUT /api/v1/things/1/parts/2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, all);
    finish(f);
}

/* HEAD on a GET route: same status and Content-Length, no body bytes (the pipelined GET after
 * it parses cleanly, which it would not if body bytes had been sent). */
static void test_head_on_get_route(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *get = exchange(c, "GET /api/v1/things/9 HTTP/1.1\r\n\r\n");
    size_t get_len = get->body_len;
    client_send(c, "HEAD /api/v1/things/9 HTTP/1.1\r\n\r\n"
                   "GET /api/v1/things/10 HTTP/1.1\r\n\r\n");
    c->sent++; /* two requests in one write; the second is a GET */
    c->want = 3;
    wait_for(f, cond_responses, c, WAIT_MS);
    assert_int_equal(c->count, 3);
    const struct response *head = &c->responses[1], *after = &c->responses[2];
    assert_int_equal(head->status, 200);
    assert_int_equal(head->body_len, 0);
    char cl[32] = "";
    assert_true(header_get(head->head, "content-length", cl, sizeof cl));
    assert_int_equal(strtoul(cl, NULL, 10), get_len);
    assert_seen(after, "thing", "[\"10\"]", "null");
    finish(f);
}

/* ---- JSON bodies ---- */

static const char *post_part(struct client *c, const char *content_type, const char *body,
                             const struct response **out) {
    static char req[1024];
    int n = snprintf(req, sizeof req, "POST /api/v1/things/5/parts/6 HTTP/1.1\r\n");
    if (content_type)
        n += snprintf(req + n, sizeof req - (size_t)n, "Content-Type: %s\r\n", content_type);
    snprintf(req + n, sizeof req - (size_t)n, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    *out = exchange(c, req);
    return req;
}

static void test_json_route_without_body(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *r;
    post_part(c, NULL, "", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "null");
    r = exchange(c, "POST /api/v1/things/5/parts/6 HTTP/1.1\r\n\r\n"); /* no Content-Length */
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "null");
    finish(f);
}

static void test_json_route_rejects(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *r;
    post_part(c, "text/plain", "{\"a\":1}", &r);
    assert_error_response(r, 415, "UNSUPPORTED_MEDIA_TYPE");
    post_part(c, NULL, "{\"a\":1}", &r);
    assert_error_response(r, 415, "UNSUPPORTED_MEDIA_TYPE");
    post_part(c, "application/jsonp", "{\"a\":1}", &r);
    assert_error_response(r, 415, "UNSUPPORTED_MEDIA_TYPE");
    post_part(c, "application/json; charset=utf-8", "{\"a\":", &r);
    assert_error_response(r, 400, "BAD_REQUEST");
    post_part(c, "application/json", "[1,2]", &r);
    assert_error_response(r, 400, "BAD_REQUEST");
    post_part(c, "application/json", "\"str\"", &r);
    assert_error_response(r, 400, "BAD_REQUEST");
    post_part(c, "application/json", "{\"a\":1,\"a\":2}", &r);
    assert_error_response(r, 400, "BAD_REQUEST");
    post_part(c, "application/json", "{\"a\":1} trailing", &r);
    assert_error_response(r, 400, "BAD_REQUEST");
    assert_false(c->eof);
    assert_int_equal(c->count, 8);
    finish(f);
}

static void test_json_route_valid_object(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *r;
    post_part(c, "application/json; charset=utf-8", "{\"name\":\"\xea\xb0\x80\",\"n\":[1,{}]}", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "{\"name\":\"\xea\xb0\x80\",\"n\":[1,{}]}");
    post_part(c, "Application/JSON", "{}", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "{}");
    finish(f);
}

/* ---- static fallback ---- */

static const struct embedded_file *index_file(void) {
    const struct embedded_file *f = embed_find(web_assets, web_assets_count, "/index.html", 11);
    assert_non_null(f);
    return f;
}

static void assert_index_html(const struct response *r) {
    const struct embedded_file *index = index_file();
    char ct[64] = "", etag[128] = "", cache[64] = "";
    assert_int_equal(r->status, 200);
    assert_true(header_get(r->head, "content-type", ct, sizeof ct));
    assert_memory_equal(ct, "text/html", 9);
    assert_true(header_get(r->head, "etag", etag, sizeof etag));
    assert_string_equal(etag, index->etag);
    assert_true(header_get(r->head, "cache-control", cache, sizeof cache));
    assert_true(header_get(r->head, "content-security-policy", cache, sizeof cache));
    assert_int_equal(r->body_len, index->size);
    assert_memory_equal(r->body, index->data, index->size);
}

static void test_static_index_and_etag(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    assert_index_html(exchange(c, "GET / HTTP/1.1\r\n\r\n"));
    char req[256];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nIf-None-Match: %s\r\n\r\n", index_file()->etag);
    const struct response *r = exchange(c, req);
    assert_int_equal(r->status, 304);
    assert_int_equal(r->body_len, 0);
    char etag[128] = "", tmp[8];
    assert_true(header_get(r->head, "etag", etag, sizeof etag));
    assert_string_equal(etag, index_file()->etag);
    assert_false(header_get(r->head, "content-length", tmp, sizeof tmp));
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nIf-None-Match: \"other\", W/%s\r\n\r\n",
             index_file()->etag);
    assert_int_equal(exchange(c, req)->status, 304);
    assert_index_html(exchange(c, "GET / HTTP/1.1\r\nIf-None-Match: \"stale\"\r\n\r\n"));
    /* the connection is still in sync after a 304 */
    assert_index_html(exchange(c, "GET /index.html HTTP/1.1\r\n\r\n"));
    finish(f);
}

static void test_static_client_routes_and_assets(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    assert_index_html(exchange(c, "GET /some/client/route HTTP/1.1\r\n\r\n"));
    assert_index_html(exchange(c, "GET /chat HTTP/1.1\r\n\r\n"));
    assert_index_html(exchange(c, "GET /apix HTTP/1.1\r\n\r\n")); /* not under /api/ */
    const struct response *r = exchange(c, "GET /style.css HTTP/1.1\r\n\r\n");
    char ct[64] = "";
    assert_int_equal(r->status, 200);
    assert_true(header_get(r->head, "content-type", ct, sizeof ct));
    assert_memory_equal(ct, "text/css", 8);
    r = exchange(c, "HEAD / HTTP/1.1\r\n\r\n");
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_error_response(exchange(c, "GET /missing.js HTTP/1.1\r\n\r\n"), 404, "NOT_FOUND");
    assert_error_response(exchange(c, "GET /dir/missing.css HTTP/1.1\r\n\r\n"), 404, "NOT_FOUND");
    assert_error_response(exchange(c, "GET /../web/index.html HTTP/1.1\r\n\r\n"), 404, "NOT_FOUND");
    finish(f);
}

static void test_static_post_405(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const char *get_head[] = {"GET", "HEAD", NULL};
    const struct response *r = exchange(c, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    r = exchange(c, "DELETE /some/client/route HTTP/1.1\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    finish(f);
}

/* ---- router_add without a server ---- */

static void noop_handler(http_request *req, void *ctx) {
    (void)req;
    (void)ctx;
}

static int setup_router(void **state) {
    *state = router_new(NULL, NULL);
    return *state ? 0 : -1;
}

static int teardown_router(void **state) {
    router_free(*state);
    return 0;
}

static void test_router_add_limits(void **state) {
    router *r = *state;
    assert_int_equal(router_add(r, ROUTE_METHOD(HTTP_GET), "no-slash", noop_handler, NULL, 0), -1);
    for (int i = 0; i < ROUTER_MAX_ROUTES; i++)
        assert_int_equal(router_add(r, ROUTE_METHOD(HTTP_GET), "/x", noop_handler, NULL, 0), 0);
    assert_int_equal(router_add(r, ROUTE_METHOD(HTTP_GET), "/y", noop_handler, NULL, 0), -1);
}

/* A pattern with more "{…}" segments than HTTP_ROUTE_PARAMS_MAX could never match: router_add
 * must refuse it rather than accept a dead route. */
static void test_router_add_refuses_too_many_params(void **state) {
    router *r = *state;
    assert_int_equal(
        router_add(r, ROUTE_METHOD(HTTP_GET), "/a/{b}/{c}/{d}/{e}", noop_handler, NULL, 0), 0);
    assert_int_equal(
        router_add(r, ROUTE_METHOD(HTTP_GET), "/a/{b}/{c}/{d}/{e}/{f}", noop_handler, NULL, 0), -1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_params_captured),
        T(test_unknown_api_path_404),
        T(test_wrong_method_405_with_allow),
        T(test_head_on_get_route),
        T(test_json_route_without_body),
        T(test_json_route_rejects),
        T(test_json_route_valid_object),
        T(test_static_index_and_etag),
        T(test_static_client_routes_and_assets),
        T(test_static_post_405),
        cmocka_unit_test_setup_teardown(test_router_add_limits, setup_router, teardown_router),
        cmocka_unit_test_setup_teardown(test_router_add_refuses_too_many_params, setup_router,
                                        teardown_router),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
