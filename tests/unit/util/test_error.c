/* test_error.c — tests of util/error.c (every err_code has a wire name, a 4xx/5xx status and a
 * message; the SPEC §3.1 table of statuses) and of the one error renderer in net/http_reply.c,
 * driven through a real server on 127.0.0.1: {"error":{"code","message","requestId"[,"fields"]}},
 * requestId equal to X-Request-Id, Retry-After on RATE_LIMITED/UNAVAILABLE, extra headers kept.
 * Every wait is bounded by a uv_timer guard; every test ends with uv_loop_close() == 0.
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
#include "util/buf.h"
#include "util/error.h"

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

/* ---- the server under test ---- */

static const char CUSTOM_MESSAGE[] = "Quote \" backslash \\ tab \t <b>한국어</b>";
#define LONG_HEADER_VALUE_BYTES 1000

static int path_is(const http_request *req, const char *path) {
    return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static void reply_long_header(http_request *req) {
    buf h = {0};
    buf_append_cstr(&h, "X-Long: ");
    for (int i = 0; i < LONG_HEADER_VALUE_BYTES; i++)
        buf_append(&h, "L", 1);
    buf_append_cstr(&h, "\r\n");
    http_reply_error_full(req, ERR_NOT_FOUND, NULL, NULL, 0, h.data);
    buf_free(&h);
}

/* /code/N → http_reply_error(N); /fields, /rate, /rate30, /unavailable, /extra, /message,
 * /long-header, /json-null → the renderer's other paths. */
static void error_dispatch(http_request *req, void *ctx) {
    (void)ctx;
    if (req->path_len > 6 && memcmp(req->path, "/code/", 6) == 0) {
        http_reply_error(req, (enum err_code)atoi(req->path + 6), NULL);
    } else if (path_is(req, "/fields")) {
        json_t *fields = json_pack("{s:s, s:s}", "email", "INVALID", "name", "TOO_LONG");
        http_reply_error_full(req, ERR_VALIDATION_FAILED, NULL, fields, 0, NULL);
    } else if (path_is(req, "/rate")) {
        http_reply_error_full(req, ERR_RATE_LIMITED, NULL, NULL, 0, NULL);
    } else if (path_is(req, "/rate30")) {
        http_reply_error_full(req, ERR_RATE_LIMITED, NULL, NULL, 30, NULL);
    } else if (path_is(req, "/unavailable")) {
        http_reply_error(req, ERR_UNAVAILABLE, "The database is busy.");
    } else if (path_is(req, "/extra")) {
        http_reply_error_full(req, ERR_RATE_LIMITED, NULL, NULL, 7, "X-Extra: yes\r\n");
    } else if (path_is(req, "/message")) {
        http_reply_error(req, ERR_BAD_REQUEST, CUSTOM_MESSAGE);
    } else if (path_is(req, "/long-header")) {
        reply_long_header(req);
    } else if (path_is(req, "/json-null")) {
        http_reply_json(req, 200, NULL);
    } else {
        http_reply(req, 200, "text/plain", "ok", 2, NULL);
    }
}

static void on_server_done(void *arg) {
    ((struct fixture *)arg)->server_done = 1;
}

static void server_start(struct fixture *f) {
    struct http_server_options opt = {
        .host = "127.0.0.1", .port = 0, .dispatch = error_dispatch, .dispatch_ctx = f};
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
    free(f);
    return 0;
}

/* ---- checks ---- */

/* The parsed error body of r; checks status, JSON type and requestId == X-Request-Id. Returns the
 * "error" object's document (caller decrefs). */
static json_t *error_doc(const struct response *r, int status) {
    char ct[128] = "", rid[128] = "";
    assert_int_equal(r->status, status);
    assert_true(header_get(r->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(header_get(r->head, "x-request-id", rid, sizeof rid));
    assert_true(rid[0] != '\0');
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    if (!doc)
        fail_msg("error body is not JSON: %s", r->body);
    const char *got =
        json_string_value(json_object_get(json_object_get(doc, "error"), "requestId"));
    int same = got && strcmp(got, rid) == 0;
    int one_key = json_object_size(doc) == 1;
    if (!same || !one_key) {
        json_decref(doc);
        fail_msg("requestId/X-Request-Id mismatch or extra top-level keys: %s", r->body);
    }
    return doc;
}

/* ---- the table ---- */

static void test_every_code_has_name_status_message(void **state) {
    (void)state;
    for (int code = 0; code < ERR__COUNT; code++) {
        const char *name = err_code_name((enum err_code)code);
        const char *msg = err_default_message((enum err_code)code);
        int status = err_http_status((enum err_code)code);
        assert_non_null(name);
        assert_true(name[0] != '\0');
        assert_int_equal(strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), strlen(name));
        assert_true(status >= 400 && status <= 599);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
    }
}

static void test_spec_statuses(void **state) {
    (void)state;
    static const struct {
        enum err_code code;
        const char *name;
        int status;
    } spec[] = {
        {ERR_BAD_REQUEST, "BAD_REQUEST", 400},
        {ERR_VALIDATION_FAILED, "VALIDATION_FAILED", 422},
        {ERR_TOKEN_MISSING, "TOKEN_MISSING", 401},
        {ERR_TOKEN_INVALID, "TOKEN_INVALID", 401},
        {ERR_TOKEN_EXPIRED, "TOKEN_EXPIRED", 401},
        {ERR_REFRESH_INVALID, "REFRESH_INVALID", 401},
        {ERR_REFRESH_REUSED, "REFRESH_REUSED", 401},
        {ERR_INVALID_CREDENTIALS, "INVALID_CREDENTIALS", 401},
        {ERR_ACCOUNT_EXISTS_LOCAL, "ACCOUNT_EXISTS_LOCAL", 409},
        {ERR_ACCOUNT_EXISTS_OAUTH, "ACCOUNT_EXISTS_OAUTH", 409},
        {ERR_EMAIL_TAKEN, "EMAIL_TAKEN", 409},
        {ERR_FORBIDDEN, "FORBIDDEN", 403},
        {ERR_BANNED, "BANNED", 403},
        {ERR_NOT_FOUND, "NOT_FOUND", 404},
        {ERR_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", 405},
        {ERR_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413},
        {ERR_HEADERS_TOO_LARGE, "PAYLOAD_TOO_LARGE", 431},
        {ERR_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", 415},
        {ERR_RATE_LIMITED, "RATE_LIMITED", 429},
        {ERR_UNAVAILABLE, "UNAVAILABLE", 503},
        {ERR_INTERNAL, "INTERNAL", 500},
    };
    assert_int_equal(sizeof spec / sizeof spec[0], ERR__COUNT);
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        assert_string_equal(err_code_name(spec[i].code), spec[i].name);
        assert_int_equal(err_http_status(spec[i].code), spec[i].status);
    }
}

/* Wire names are unique, except HEADERS_TOO_LARGE, which SPEC calls PAYLOAD_TOO_LARGE. */
static void test_names_unique(void **state) {
    (void)state;
    for (int a = 0; a < ERR__COUNT; a++)
        for (int b = a + 1; b < ERR__COUNT; b++) {
            if (a == ERR_PAYLOAD_TOO_LARGE && b == ERR_HEADERS_TOO_LARGE)
                continue;
            if (strcmp(err_code_name((enum err_code)a), err_code_name((enum err_code)b)) == 0)
                fail_msg("codes %d and %d share the name %s", a, b,
                         err_code_name((enum err_code)a));
        }
}

static void test_out_of_range_is_internal(void **state) {
    (void)state;
    assert_string_equal(err_code_name(ERR__COUNT), "INTERNAL");
    assert_int_equal(err_http_status(ERR__COUNT), 500);
    assert_string_equal(err_code_name((enum err_code) - 1), "INTERNAL");
    assert_non_null(err_default_message((enum err_code)999));
}

/* ---- the renderer, through a real request ---- */

/* Every code rendered by http_reply_error: its status, wire name, default message, requestId;
 * no "fields"; Retry-After only on RATE_LIMITED and UNAVAILABLE. All on one keep-alive
 * connection. */
static void test_every_code_rendered(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    char req[64], tmp[16];
    for (int code = 0; code < ERR__COUNT; code++) {
        snprintf(req, sizeof req, "GET /code/%d HTTP/1.1\r\n\r\n", code);
        const struct response *r = exchange(c, req);
        json_t *doc = error_doc(r, err_http_status((enum err_code)code));
        json_t *err = json_object_get(doc, "error");
        char name[64], msg[256];
        snprintf(name, sizeof name, "%s", json_string_value(json_object_get(err, "code")));
        snprintf(msg, sizeof msg, "%s", json_string_value(json_object_get(err, "message")));
        int keys = (int)json_object_size(err);
        json_decref(doc);
        assert_string_equal(name, err_code_name((enum err_code)code));
        assert_string_equal(msg, err_default_message((enum err_code)code));
        assert_int_equal(keys, 3);
        int wants_retry = code == ERR_RATE_LIMITED || code == ERR_UNAVAILABLE;
        assert_int_equal(header_get(r->head, "retry-after", tmp, sizeof tmp), wants_retry);
    }
    assert_false(c->eof);
    finish(f);
}

static void test_fields_rendered(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *r = exchange(c, "GET /fields HTTP/1.1\r\nX-Request-Id: req-42\r\n\r\n");
    json_t *doc = error_doc(r, 422);
    json_t *want =
        json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "error", "code", "VALIDATION_FAILED",
                  "message", err_default_message(ERR_VALIDATION_FAILED), "requestId", "req-42",
                  "fields", "email", "INVALID", "name", "TOO_LONG");
    int same = json_equal(doc, want);
    json_decref(doc);
    json_decref(want);
    if (!same)
        fail_msg("got %s", r->body);
    finish(f);
}

static void test_retry_after(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    char v[32] = "";
    const struct response *r = exchange(c, "GET /rate HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "1");
    r = exchange(c, "GET /rate30 HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "30");
    r = exchange(c, "GET /unavailable HTTP/1.1\r\n\r\n");
    json_t *doc = error_doc(r, 503);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    int msg_ok = msg && strcmp(msg, "The database is busy.") == 0;
    json_decref(doc);
    assert_true(msg_ok);
    assert_true(header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "1");
    r = exchange(c, "GET /extra HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "7");
    assert_true(header_get(r->head, "x-extra", v, sizeof v));
    assert_string_equal(v, "yes");
    finish(f);
}

/* A custom message with quotes, backslash, a control character and UTF-8 survives JSON. */
static void test_custom_message_escaped(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    json_t *doc = error_doc(exchange(c, "GET /message HTTP/1.1\r\n\r\n"), 400);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    int same = msg && strcmp(msg, CUSTOM_MESSAGE) == 0;
    json_decref(doc);
    assert_true(same);
    finish(f);
}

/* An error answering HEAD keeps status and Content-Length and sends no body. */
static void test_error_on_head(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *get = exchange(c, "GET /code/13 HTTP/1.1\r\n\r\n");
    size_t len = get->body_len;
    const struct response *head = exchange(c, "HEAD /code/13 HTTP/1.1\r\n\r\n");
    char cl[32] = "";
    assert_int_equal(head->status, 404);
    assert_int_equal(head->body_len, 0);
    assert_true(header_get(head->head, "content-length", cl, sizeof cl));
    assert_int_equal(strtoul(cl, NULL, 10), len);
    assert_int_equal(exchange(c, "GET /ok HTTP/1.1\r\n\r\n")->status, 200);
    finish(f);
}

/* http_reply_json with no body (the out-of-memory path) answers 500 INTERNAL. */
static void test_json_null_is_internal(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    json_t *doc = error_doc(exchange(c, "GET /json-null HTTP/1.1\r\n\r\n"), 500);
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    int ok = code && strcmp(code, "INTERNAL") == 0;
    json_decref(doc);
    assert_true(ok);
    finish(f);
}

/* extra_headers of any length reach the client whole, and the response stays well-formed. */
static void test_long_extra_header_kept(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    const struct response *r = exchange(c, "GET /long-header HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 404));
    char v[LONG_HEADER_VALUE_BYTES + 16] = "";
    assert_true(header_get(r->head, "x-long", v, sizeof v));
    assert_int_equal(strlen(v), LONG_HEADER_VALUE_BYTES);
    finish(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_name_status_message),
        cmocka_unit_test(test_spec_statuses),
        cmocka_unit_test(test_names_unique),
        cmocka_unit_test(test_out_of_range_is_internal),
        T(test_every_code_rendered),
        T(test_fields_rendered),
        T(test_retry_after),
        T(test_custom_message_escaped),
        T(test_error_on_head),
        T(test_json_null_is_internal),
        T(test_long_extra_header_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
