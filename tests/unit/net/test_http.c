/* test_http.c — tests of net/http.c through a real server on 127.0.0.1: a libuv TCP client in
 * the same loop (or a raw socket handed to libuv) sends scripted bytes (whole, split at every
 * offset, one byte per write) and checks what a client sees: status, headers, bodies, keep-alive,
 * pipelining, limits (431/413), 400 on malformed input, lingering after an error, 100 Continue,
 * async and timer replies, output backpressure, half-closing clients, request IDs and the
 * connection cap. Every wait is bounded by a uv_timer guard; every test ends with a graceful
 * http_server_shutdown and uv_loop_close() == 0 (no leaked handle).
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
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "limits.h"
#include "net/http.h"
#include "net/http_reply.h"
#include "http_client.h"
#include "util/buf.h"

#define ASYNC_DELAY_MS   5                 /* the /async handler replies this much later */
#define BIG_BODY_BYTES   (64 * 1024)       /* body of /big/N (backpressure test) */
#define LARGE_BODY_BYTES (8 * 1024 * 1024) /* body of /large: more than socket buffers take */
/* body of /medium: under the high-water mark, more than one write into a fresh socket takes */
#define MEDIUM_BODY_BYTES (HTTP_OUTPUT_HIGH_WATER - 16 * 1024)

struct fixture {
    struct tc_harness h;
    buf events;             /* "D<path>;" when dispatched, "R/async;" when the async reply leaves */
    int async_pending;      /* /async timers not fired yet */
    http_request *held;     /* the request of /hold, answered by the test */
    uv_timer_t reply_timer; /* answers the request of /timer 1 ms later */
    http_request *timer_req;
    size_t dispatched;
};

static int cond_held(const void *arg) {
    return ((const struct fixture *)arg)->held != NULL;
}

/* on_response of the backpressure client: checks /big/N responses in order as they arrive and
 * drops them (c->dropped counts them). */
static int check_big_in_order(struct tc_client *c, const struct tc_response *r) {
    char want[64];
    int n = snprintf(want, sizeof want, "GET /big/%zu ", c->dropped);
    if (r->status != 200 || r->body_len < (size_t)n || memcmp(r->body, want, (size_t)n) != 0)
        c->bad_response = 1;
    return 1;
}

/* ---- the server under test ---- */

static int path_is(const http_request *req, const char *path) {
    return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

/* How the server parsed the request: method, path, query, version, headers, body. */
static void describe(const http_request *req, buf *out) {
    buf_append_printf(out, "%s ", http_method_str(req->method));
    buf_append(out, req->path, req->path_len);
    if (req->query) {
        buf_append(out, "?", 1);
        buf_append(out, req->query, req->query_len);
    }
    buf_append_printf(out, " HTTP/1.%d keep=%d\n", req->http_minor, req->keep_alive);
    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header_ref *h = &req->headers[i];
        buf_append(out, req->head.data + h->name_off, h->name_len);
        buf_append(out, ": ", 2);
        buf_append(out, req->head.data + h->value_off, h->value_len);
        buf_append(out, "\n", 1);
    }
    buf_append_printf(out, "body %zu:", req->body.len);
    buf_append(out, req->body.data, req->body.len);
}

struct async_reply {
    uv_timer_t timer;
    http_request *req;
    struct fixture *f;
};

static void on_async_closed(uv_handle_t *h) {
    free(h->data);
}

static void on_async_timer(uv_timer_t *t) {
    struct async_reply *a = t->data;
    buf_append_cstr(&a->f->events, "R/async;");
    http_reply(a->req, 200, "text/plain", "async", 5, NULL);
    a->f->async_pending--;
    uv_close((uv_handle_t *)t, on_async_closed);
}

static void start_async_reply(struct fixture *f, http_request *req) {
    struct async_reply *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->req = req;
    a->f = f;
    uv_timer_init(&f->h.loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, on_async_timer, ASYNC_DELAY_MS, 0);
    f->async_pending++;
}

static void on_reply_timer(uv_timer_t *t) {
    struct fixture *f = t->data;
    http_request *req = f->timer_req;
    f->timer_req = NULL;
    http_reply(req, 200, "text/plain", "timer", 5, NULL);
}

/* 200 with the description of the request first, padded to size bytes. */
static void reply_padded(http_request *req, size_t size) {
    buf out = {0};
    describe(req, &out);
    if (out.len < size && buf_reserve(&out, size - out.len) == 0) {
        memset(out.data + out.len, '.', size - out.len);
        out.len = size;
    }
    http_reply(req, 200, "application/octet-stream", out.data, size, NULL);
    buf_free(&out);
}

static int path_is_big(const http_request *req) {
    return req->path_len > 5 && memcmp(req->path, "/big/", 5) == 0;
}

/* /async replies from a timer it owns, /timer from the fixture's timer, /hold waits for the
 * test, /error is a 404 JSON error, /big/N and /large are large, anything else is 200 with the
 * description of the request. */
static void test_dispatch(http_request *req, void *ctx) {
    struct fixture *f = ctx;
    f->dispatched++;
    if (!path_is_big(req)) {
        buf_append_cstr(&f->events, "D");
        buf_append(&f->events, req->path, req->path_len);
        buf_append_cstr(&f->events, ";");
    }
    if (path_is_big(req)) {
        reply_padded(req, BIG_BODY_BYTES);
    } else if (path_is(req, "/large")) {
        reply_padded(req, LARGE_BODY_BYTES);
    } else if (path_is(req, "/medium")) {
        reply_padded(req, MEDIUM_BODY_BYTES);
    } else if (path_is(req, "/timer")) {
        f->timer_req = req;
        uv_timer_start(&f->reply_timer, on_reply_timer, 1, 0);
    } else if (path_is(req, "/async")) {
        start_async_reply(f, req);
    } else if (path_is(req, "/hold")) {
        f->held = req;
    } else if (path_is(req, "/error")) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
    } else {
        buf out = {0};
        describe(req, &out);
        http_reply(req, 200, "text/plain", out.data, out.len, NULL);
        buf_free(&out);
    }
}

static void server_start(struct fixture *f, int max_connections) {
    struct http_server_options opt = {.host = "127.0.0.1",
                                      .port = 0,
                                      .max_connections = max_connections,
                                      .dispatch = test_dispatch,
                                      .dispatch_ctx = f};
    tc_server_start(&f->h, &opt);
    char addr[64];
    assert_int_equal(http_server_address(f->h.server, addr, sizeof addr), 0);
    assert_memory_equal(addr, "127.0.0.1:", 10);
}

/* The end of every test: graceful shutdown, every handle closed, uv_loop_close() == 0. */
static void finish(struct fixture *f) {
    tc_finish_server(&f->h);
    assert_int_equal(f->async_pending, 0);
    tc_finish_loop(&f->h);
}

static void close_reply_timer(struct tc_harness *h) {
    struct fixture *f = (struct fixture *)h; /* h is the first member */
    uv_close((uv_handle_t *)&f->reply_timer, NULL);
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || tc_harness_init(&f->h) != 0)
        return -1;
    uv_timer_init(&f->h.loop, &f->reply_timer);
    f->reply_timer.data = f;
    f->h.close_handles = close_reply_timer;
    *state = f;
    return 0;
}

/* After a failed test: close what is left as well as possible; leak rather than free memory a
 * live handle still points to. */
static int teardown(void **state) {
    struct fixture *f = *state;
    if (tc_harness_teardown(&f->h) != 0)
        return -1;
    buf_free(&f->events);
    free(f);
    return 0;
}

/* ---- checks ---- */

/* Checks r is a SPEC §3.1 error: status, JSON content type, code, a message, and requestId equal
 * to the X-Request-Id header. */
static void assert_error_response(const struct tc_response *r, int status, const char *code) {
    char ct[128] = "", rid[128] = "", got_code[64] = "", got_rid[128] = "";
    int has_message = 0;
    assert_int_equal(r->status, status);
    assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(tc_header_get(r->head, "x-request-id", rid, sizeof rid));
    json_error_t jerr;
    json_t *doc = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!doc)
        fail_msg("error body is not JSON: %s", r->body);
    json_t *err = json_object_get(doc, "error");
    const char *s = json_string_value(json_object_get(err, "code"));
    snprintf(got_code, sizeof got_code, "%s", s ? s : "");
    s = json_string_value(json_object_get(err, "requestId"));
    snprintf(got_rid, sizeof got_rid, "%s", s ? s : "");
    s = json_string_value(json_object_get(err, "message"));
    has_message = s && s[0];
    json_decref(doc);
    assert_string_equal(got_code, code);
    assert_true(has_message);
    assert_true(rid[0] != '\0');
    assert_string_equal(got_rid, rid);
}

static void assert_closes_connection(const struct tc_response *r) {
    char v[32] = "";
    assert_true(tc_header_get(r->head, "connection", v, sizeof v));
    assert_string_equal(v, "close");
}

static void assert_keeps_connection(const struct tc_response *r) {
    char v[32] = "";
    if (tc_header_get(r->head, "connection", v, sizeof v))
        assert_int_not_equal(strcasecmp(v, "close"), 0);
}

/* ---- tests ---- */

static const char SIMPLE_GET[] = "GET /hello?x=1 HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\r\n";

static const char POST_REQ[] = "POST /p/q?k=v&z= HTTP/1.1\r\n"
                               "Host: example.test\r\n"
                               "Content-Type: text/plain\r\n"
                               "X-Multi: one,\r\n"
                               "Content-Length: 11\r\n"
                               "\r\n"
                               "hello world";

static const char CHUNKED_REQ[] = "POST /chunked HTTP/1.1\r\n"
                                  "Host: t\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n"
                                  "5\r\nhello\r\n"
                                  "1;ext=1\r\n \r\n"
                                  "5\r\nworld\r\n"
                                  "0\r\n\r\n";

static void test_simple_get(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, SIMPLE_GET);
    assert_int_equal(tc_client_wait(c, 1), 1);
    const struct tc_response *r = &c->responses[0];
    assert_int_equal(r->status, 200);
    char rid[128] = "", cl[32] = "", ct[64] = "";
    assert_true(tc_header_get(r->head, "x-request-id", rid, sizeof rid));
    assert_true(rid[0] != '\0');
    assert_true(tc_header_get(r->head, "content-length", cl, sizeof cl));
    assert_int_equal(strtoul(cl, NULL, 10), r->body_len);
    assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain");
    assert_true(tc_has_header(r, "date"));
    assert_true(tc_has_header(r, "x-content-type-options"));
    assert_keeps_connection(r);
    assert_string_equal(r->body, "GET /hello?x=1 HTTP/1.1 keep=1\nHost: t\nX-A: b\nbody 0:");
    assert_false(c->eof);
    assert_int_equal(http_server_open_connections(f->h.server), 1);
    finish(f);
}

/* The same request sent whole and ONE BYTE PER WRITE is parsed identically. */
static void check_bytewise(struct fixture *f, const char *request) {
    struct tc_client *whole = tc_client_open(&f->h);
    tc_client_send_str(whole, request);
    assert_int_equal(tc_client_wait(whole, 1), 1);
    assert_int_equal(whole->responses[0].status, 200);

    struct tc_client *bytewise = tc_client_open(&f->h);
    tc_client_send_bytewise(bytewise, request, strlen(request));
    assert_int_equal(tc_client_wait(bytewise, 1), 1);
    assert_int_equal(bytewise->responses[0].status, 200);
    assert_string_equal(bytewise->responses[0].body, whole->responses[0].body);
    assert_false(bytewise->eof);
}

static void test_one_byte_per_write(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_bytewise(f, SIMPLE_GET);
    check_bytewise(f, POST_REQ);
    check_bytewise(f, CHUNKED_REQ);
    assert_non_null(strstr(f->h.clients[5]->responses[0].body, "body 11:hello world"));
    finish(f);
}

/* Every split of a request into two writes parses like the whole request (one connection). */
static void check_every_split(struct fixture *f, const char *request) {
    size_t len = strlen(request);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, request);
    assert_int_equal(tc_client_wait(c, 1), 1);
    char *reference = strdup(c->responses[0].body);
    for (size_t k = 1; k < len; k++) {
        tc_client_clear(c);
        tc_client_send_turn(c, request, k);
        tc_client_send(c, request + k, len - k);
        assert_int_equal(tc_client_wait(c, 1), 1);
        assert_int_equal(c->responses[0].status, 200);
        if (strcmp(c->responses[0].body, reference) != 0)
            fail_msg("split at %zu: \"%s\" != \"%s\"", k, c->responses[0].body, reference);
    }
    free(reference);
    assert_int_equal(http_server_open_connections(f->h.server), (int)f->h.client_count);
}

static void test_split_at_every_offset(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_every_split(f, POST_REQ);
    check_every_split(f, CHUNKED_REQ);
    finish(f);
}

static void test_pipelined_in_one_write(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n"
                          "POST /second HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                          "GET /third HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 3), 3);
    assert_non_null(strstr(c->responses[0].body, "GET /first "));
    assert_non_null(strstr(c->responses[1].body, "POST /second "));
    assert_non_null(strstr(c->responses[1].body, "body 3:abc"));
    assert_non_null(strstr(c->responses[2].body, "GET /third "));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c->responses[i].status, 200);
        assert_keeps_connection(&c->responses[i]);
    }
    assert_string_equal(f->events.data, "D/first;D/second;D/third;");
    finish(f);
}

static void test_keep_alive_50(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    char req[128], want[64];
    for (size_t i = 0; i < 50; i++) {
        snprintf(req, sizeof req, "GET /k/%zu HTTP/1.1\r\nHost: t\r\n\r\n", i);
        tc_client_send_str(c, req);
        assert_int_equal(tc_client_wait(c, i + 1), i + 1);
        assert_int_equal(c->responses[i].status, 200);
        assert_keeps_connection(&c->responses[i]);
        snprintf(want, sizeof want, "GET /k/%zu HTTP/1.1 keep=1\n", i);
        assert_memory_equal(c->responses[i].body, want, strlen(want));
    }
    assert_false(c->eof);
    assert_int_equal(http_server_open_connections(f->h.server), 1);
    finish(f);
}

/* Connection: close → that reply says close, the connection closes, a pipelined request after
 * it is never dispatched. */
static void test_connection_close(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                          "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 2), 1);
    assert_int_equal(c->responses[0].status, 200);
    assert_closes_connection(&c->responses[0]);
    tc_client_expect_eof(c);
    assert_int_equal(c->count, 1);
    assert_string_equal(f->events.data, "D/a;");
    finish(f);
}

static void test_http10_closes_by_default(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /old HTTP/1.0\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_int_equal(c->responses[0].status, 200);
    assert_closes_connection(&c->responses[0]);
    assert_non_null(strstr(c->responses[0].body, "GET /old HTTP/1.0 keep=0"));
    tc_client_expect_eof(c);
    finish(f);
}

static void test_http10_keep_alive(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    const char *req = "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    tc_client_send_str(c, req);
    assert_int_equal(tc_client_wait(c, 1), 1);
    char v[32] = "";
    assert_true(tc_header_get(c->responses[0].head, "connection", v, sizeof v));
    assert_int_equal(strcasecmp(v, "keep-alive"), 0);
    tc_client_send_str(c, req);
    assert_int_equal(tc_client_wait(c, 2), 2);
    assert_int_equal(c->responses[1].status, 200);
    assert_false(c->eof);
    finish(f);
}

/* A request with one X-Big header of n bytes. */
static char *request_with_big_header(size_t n) {
    buf b = {0};
    buf_append_cstr(&b, "GET /big HTTP/1.1\r\nHost: t\r\nX-Big: ");
    for (size_t i = 0; i < n; i++)
        buf_append(&b, "h", 1);
    buf_append_cstr(&b, "\r\n\r\n");
    return buf_detach(&b, NULL);
}

static void test_headers_under_limit(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    char *req = request_with_big_header(HTTP_MAX_HEADER_BYTES - 1024);
    tc_client_send_str(c, req);
    free(req);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_int_equal(c->responses[0].status, 200);
    finish(f);
}

static void test_headers_too_large_431(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    char *req = request_with_big_header(HTTP_MAX_HEADER_BYTES + 1);
    tc_client_send_str(c, req);
    free(req);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 431, "PAYLOAD_TOO_LARGE");
    assert_closes_connection(&c->responses[0]);
    tc_client_expect_eof(c);
    assert_int_equal(f->events.len, 0);
    finish(f);
}

static void test_too_many_headers_431(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    buf b = {0};
    buf_append_cstr(&b, "GET /many HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        buf_append_printf(&b, "X-H%d: v\r\n", i);
    buf_append_cstr(&b, "\r\n");
    tc_client_send(c, b.data, b.len);
    buf_free(&b);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 431, "PAYLOAD_TOO_LARGE");
    tc_client_expect_eof(c);
    finish(f);
}

/* POST /body with a Content-Length body of n bytes, sent whole in one write. */
static void send_body_request(struct tc_client *c, size_t n, const char *extra_headers) {
    buf b = {0};
    buf_append_printf(&b, "POST /body HTTP/1.1\r\nHost: t\r\n%sContent-Length: %zu\r\n\r\n",
                      extra_headers, n);
    for (size_t i = 0; i < n; i++)
        buf_append(&b, "b", 1);
    tc_client_send(c, b.data, b.len);
    buf_free(&b);
}

static void test_body_at_limit(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    send_body_request(c, HTTP_MAX_BODY_BYTES, "");
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_int_equal(c->responses[0].status, 200);
    char want[64];
    snprintf(want, sizeof want, "body %d:bbb", HTTP_MAX_BODY_BYTES);
    assert_non_null(strstr(c->responses[0].body, want));
    finish(f);
}

/* The client sends the whole over-limit body and still reads the 413. */
static void test_body_over_limit_413(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    send_body_request(c, HTTP_MAX_BODY_BYTES + 1, "X-Request-Id: big-body-1\r\n");
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 413, "PAYLOAD_TOO_LARGE");
    char rid[80] = "";
    tc_header_get(c->responses[0].head, "x-request-id", rid, sizeof rid);
    assert_string_equal(rid, "big-body-1");
    assert_closes_connection(&c->responses[0]);
    tc_client_expect_eof(c);
    assert_int_equal(c->read_error, 0);
    assert_int_equal(f->events.len, 0);
    finish(f);
}

static void test_chunked_over_limit_413(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    buf b = {0};
    buf_append_cstr(&b, "POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t sent = 0;
    while (sent <= HTTP_MAX_BODY_BYTES) {
        buf_append_printf(&b, "%x\r\n", 8192);
        for (int i = 0; i < 8192; i++)
            buf_append(&b, "c", 1);
        buf_append_cstr(&b, "\r\n");
        sent += 8192;
    }
    buf_append_cstr(&b, "0\r\n\r\n");
    tc_client_send(c, b.data, b.len);
    buf_free(&b);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 413, "PAYLOAD_TOO_LARGE");
    tc_client_expect_eof(c);
    assert_int_equal(f->events.len, 0);
    finish(f);
}

/* Malformed input → 400 BAD_REQUEST JSON, then the connection closes. */
static void check_bad_request(struct fixture *f, const char *bytes) {
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, bytes);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 400, "BAD_REQUEST");
    assert_closes_connection(&c->responses[0]);
    tc_client_expect_eof(c);
    assert_int_equal(c->count, 1);
}

static void test_malformed_request_400(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_bad_request(f, "GARBAGE\r\n\r\n");
    check_bad_request(f, "\x01\x02\x03 / HTTP/1.1\r\n\r\n");
    check_bad_request(f, "GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
    check_bad_request(f, "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n");
    check_bad_request(f, "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Length: 3\r\n\r\nabc");
    assert_int_equal(f->events.len, 0);
    finish(f);
}

/* A good request, then garbage in the same write: 200, then 400, then close. */
static void test_pipelined_then_malformed(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\nBLAH\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 2), 2);
    assert_int_equal(c->responses[0].status, 200);
    assert_error_response(&c->responses[1], 400, "BAD_REQUEST");
    tc_client_expect_eof(c);
    assert_string_equal(f->events.data, "D/ok;");
    finish(f);
}

/* After an error reply the server shuts its write side and keeps reading (discarding) so the
 * client reads the reply instead of a reset: input sent after the reply is accepted, and the
 * client's EOF closes the connection at once, long before HTTP_LINGER_MS. */
static void test_error_reply_lingers_reading(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GARBAGE\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 400, "BAD_REQUEST");
    tc_client_expect_eof(c);
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    tc_client_send_turn(c, junk, sizeof junk);
    assert_int_equal(c->write_error, 0);
    c->shutdown_req.data = c;
    assert_int_equal(uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, NULL), 0);
    uint64_t t0 = uv_hrtime();
    tc_server_wait_connections(&f->h, 0, HTTP_LINGER_MS / 2);
    assert_true((uv_hrtime() - t0) / 1000000 < HTTP_LINGER_MS / 2);
    finish(f);
}

static void test_expect_continue(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                          "Content-Length: 5\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_int_equal(c->responses[0].status, 100);
    assert_string_equal(c->responses[0].head, "HTTP/1.1 100 Continue");
    assert_int_equal(f->events.len, 0);
    tc_client_send_str(c, "hello");
    assert_int_equal(tc_client_wait(c, 2), 2);
    assert_int_equal(c->responses[1].status, 200);
    assert_non_null(strstr(c->responses[1].body, "body 5:hello"));
    assert_keeps_connection(&c->responses[1]);
    finish(f);
}

/* Expect: 100-continue with a body over the limit: the final 413 comes at once, no 100. */
static void test_expect_continue_over_limit(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    char req[256];
    snprintf(req, sizeof req,
             "POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: %d\r\n\r\n",
             HTTP_MAX_BODY_BYTES + 1);
    tc_client_send_str(c, req);
    assert_int_equal(tc_client_wait(c, 1), 1);
    assert_error_response(&c->responses[0], 413, "PAYLOAD_TOO_LARGE");
    tc_client_expect_eof(c);
    assert_int_equal(c->count, 1);
    finish(f);
}

/* An async reply arrives, and the pipelined second request is dispatched only after it. */
static void test_async_handler_pipelined(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n"
                          "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 2), 2);
    assert_int_equal(c->responses[0].status, 200);
    assert_string_equal(c->responses[0].body, "async");
    assert_int_equal(c->responses[1].status, 200);
    assert_non_null(strstr(c->responses[1].body, "GET /after "));
    assert_string_equal(f->events.data, "D/async;R/async;D/after;");
    char a[80] = "", b[80] = "";
    tc_header_get(c->responses[0].head, "x-request-id", a, sizeof a);
    tc_header_get(c->responses[1].head, "x-request-id", b, sizeof b);
    assert_true(a[0] && b[0]);
    assert_string_not_equal(a, b);
    finish(f);
}

/* The client leaves (FIN) while its request is held; the late reply is safe and the connection
 * is freed. */
static void test_held_request_client_eof(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(tc_wait_for(&f->h, cond_held, f, TC_WAIT_MS));
    tc_client_close(c);
    assert_true(tc_wait_for(&f->h, tc_cond_clients_closed, &f->h, TC_WAIT_MS));
    uv_run(&f->h.loop, UV_RUN_NOWAIT);
    assert_int_equal(http_server_open_connections(f->h.server), 1); /* the handler holds it */
    http_reply(f->held, 200, "text/plain", "late", 4, NULL);
    f->held = NULL;
    tc_server_wait_connections(&f->h, 0, TC_WAIT_MS);
    finish(f);
}

/* The client resets while its request is held: the connection closes at once, its memory waits
 * for the reply. */
static void test_held_request_client_reset(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(tc_wait_for(&f->h, cond_held, f, TC_WAIT_MS));
    tc_client_reset(c);
    assert_true(tc_wait_for(&f->h, tc_cond_clients_closed, &f->h, TC_WAIT_MS));
    for (int i = 0; i < 3; i++)
        uv_run(&f->h.loop, UV_RUN_NOWAIT);
    http_reply(f->held, 200, "text/plain", "late", 4, NULL);
    f->held = NULL;
    tc_server_wait_connections(&f->h, 0, TC_WAIT_MS);
    finish(f);
}

/* Shutdown closes idle connections at once and a busy one after its reply (Connection: close). */
static void test_shutdown_waits_for_held_reply(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *idle = tc_client_open(&f->h);
    tc_client_send_str(idle, SIMPLE_GET);
    assert_int_equal(tc_client_wait(idle, 1), 1);
    struct tc_client *busy = tc_client_open(&f->h);
    tc_client_send_str(busy, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_true(tc_wait_for(&f->h, cond_held, f, TC_WAIT_MS));
    tc_server_shutdown(&f->h);
    tc_client_expect_eof(idle);
    assert_false(f->h.server_done);
    assert_false(busy->eof);
    http_reply(f->held, 200, "text/plain", "last", 4, NULL);
    f->held = NULL;
    assert_int_equal(tc_client_wait(busy, 1), 1);
    assert_string_equal(busy->responses[0].body, "last");
    assert_closes_connection(&busy->responses[0]);
    tc_client_expect_eof(busy);
    tc_client_close(busy); /* the server may wait for our FIN before it closes */
    assert_true(tc_wait_for(&f->h, tc_cond_server_done, &f->h, TC_WAIT_MS));
    finish(f);
}

static void test_request_id_in_error_body(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    tc_client_send_str(c, "GET /error HTTP/1.1\r\nHost: t\r\n\r\n"
                          "GET /error HTTP/1.1\r\nHost: t\r\nX-Request-Id: from-proxy.7\r\n\r\n");
    assert_int_equal(tc_client_wait(c, 2), 2);
    assert_error_response(&c->responses[0], 404, "NOT_FOUND");
    assert_error_response(&c->responses[1], 404, "NOT_FOUND");
    assert_non_null(strstr(c->responses[1].body, "\"requestId\":\"from-proxy.7\""));
    assert_keeps_connection(&c->responses[0]);
    finish(f);
}

/* Sends a request with the given X-Request-Id line and returns the echoed header (static). */
static const char *request_id_for(struct tc_client *c, const char *id) {
    static char got[128];
    char req[512];
    snprintf(req, sizeof req, "GET /id HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\n\r\n", id);
    size_t n = c->count + 1;
    tc_client_send_str(c, req);
    assert_int_equal(tc_client_wait(c, n), n);
    assert_int_equal(c->responses[n - 1].status, 200);
    got[0] = '\0';
    assert_true(tc_header_get(c->responses[n - 1].head, "x-request-id", got, sizeof got));
    return got;
}

static int id_is_safe(const char *id) {
    size_t len = strlen(id);
    if (len == 0 || len > HTTP_REQUEST_ID_MAX)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len;
}

static void test_request_id_echo_and_replace(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    assert_string_equal(request_id_for(c, "abc-123"), "abc-123");
    char max[HTTP_REQUEST_ID_MAX + 2];
    memset(max, 'm', HTTP_REQUEST_ID_MAX);
    max[HTTP_REQUEST_ID_MAX] = '\0';
    assert_string_equal(request_id_for(c, max), max);

    const char *bad[] = {"has spaces in it", "semi;colon", "quote\"d", NULL, NULL};
    char hundred[101], over[HTTP_REQUEST_ID_MAX + 2];
    memset(hundred, 'a', 100);
    hundred[100] = '\0';
    memset(over, 'o', HTTP_REQUEST_ID_MAX + 1);
    over[HTTP_REQUEST_ID_MAX + 1] = '\0';
    bad[3] = hundred;
    bad[4] = over;
    char previous[128] = "";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *got = request_id_for(c, bad[i]);
        assert_string_not_equal(got, bad[i]);
        assert_true(id_is_safe(got));
        assert_string_not_equal(got, previous); /* generated IDs are unique */
        snprintf(previous, sizeof previous, "%s", got);
    }
    finish(f);
}

/* A reply made in a uv_timer callback leaves at once, not at the next unrelated loop wake-up
 * (the sweeper ticks every HTTP_SWEEP_INTERVAL_MS): 10 sequential requests answered from a
 * 1 ms timer take far less than 10 sweeper intervals. */
static void test_reply_from_timer_flushed_promptly(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < 10; i++) {
        tc_client_send_str(c, "GET /timer HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_int_equal(tc_client_wait(c, i + 1), i + 1);
        assert_string_equal(c->responses[i].body, "timer");
    }
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    if (ms >= 10 * HTTP_SWEEP_INTERVAL_MS / 4)
        fail_msg("10 timer replies took %llu ms: each waited for an unrelated wake-up",
                 (unsigned long long)ms);
    finish(f);
}

/* A client that pipelines many requests and reads nothing: the server stops parsing once its
 * output is over HTTP_OUTPUT_HIGH_WATER (plus what the sockets hold) and resumes, in order,
 * when the client reads. */
static void test_output_backpressure(void **state) {
    struct fixture *f = *state;
    const size_t total = 400; /* 400 × 64 KiB = 25 MiB, more than loopback buffers hold */
    server_start(f, 0);
    struct tc_client *c = tc_client_open(&f->h);
    uv_read_stop((uv_stream_t *)&c->tcp);
    buf b = {0};
    for (size_t i = 0; i < total; i++)
        buf_append_printf(&b, "GET /big/%zu HTTP/1.1\r\nHost: t\r\n\r\n", i);
    tc_client_send(c, b.data, b.len);
    buf_free(&b);
    tc_wait_for(&f->h, tc_cond_never, NULL, 300);
    if (f->dispatched >= total)
        fail_msg("all %zu requests were dispatched while the client read nothing", total);
    assert_true(f->dispatched > 0);
    c->on_response = check_big_in_order;
    assert_int_equal(tc_client_read_start(c), 0);
    assert_int_equal(tc_client_wait_dropped(c, total), total);
    assert_int_equal(f->dispatched, total);
    assert_false(c->eof);
    finish(f);
}

/* A client may half-close after sending its requests (SHUT_WR): it still gets every reply,
 * then EOF. The client starts reading only after the server had time to see requests and FIN. */
static void check_half_close(struct fixture *f, const char *path, size_t body_len,
                             const char *path2, size_t body_len2) {
    char req[256];
    size_t want = path2 ? 2 : 1;
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    if (path2)
        snprintf(req + n, sizeof req - (size_t)n, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path2);
    int fd = tc_raw_connect_send(&f->h, req, 1);
    tc_wait_for(&f->h, tc_cond_never, NULL, 100);
    struct tc_client *c = tc_client_adopt(&f->h, fd);
    tc_client_wait(c, want);
    if (c->count != want)
        fail_msg("%zu request(s) then half-close: %zu complete replies, then %zu stray bytes and "
                 "EOF",
                 want, c->count, c->in.len);
    assert_int_equal(c->responses[0].status, 200);
    assert_int_equal(c->responses[0].body_len, body_len);
    if (path2) {
        assert_int_equal(c->responses[1].status, 200);
        assert_int_equal(c->responses[1].body_len, body_len2);
    }
    tc_client_expect_eof(c);
}

static void test_half_close_small_reply(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_half_close(f, "/big/0", BIG_BODY_BYTES, NULL, 0);
    finish(f);
}

static void test_half_close_reply_below_high_water(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_half_close(f, "/medium", MEDIUM_BODY_BYTES, NULL, 0);
    finish(f);
}

static void test_half_close_large_reply(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_half_close(f, "/large", LARGE_BODY_BYTES, NULL, 0);
    finish(f);
}

/* Two pipelined requests, then FIN: a large reply fills the socket buffers, so the second
 * (small) reply is still being written when the server reads the FIN. */
static void test_half_close_pipelined_replies(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    check_half_close(f, "/large", LARGE_BODY_BYTES, "/medium", MEDIUM_BODY_BYTES);
    finish(f);
}

/* One try of the FIN window: the test reads by hand just enough of the /large reply for the
 * pipelined /medium to be dispatched, stops reading while the server reads the FIN, then reads
 * everything: both replies must be whole. */
static void half_close_while_reply_in_flight_once(struct fixture *f) {
    const char *req = "GET /large HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /medium HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t before = f->dispatched;
    int fd = tc_raw_connect_send(&f->h, req, 1);
    buf got = {0};
    char chunk[65536];
    uint64_t deadline = uv_hrtime() + (uint64_t)TC_WAIT_MS * 1000000;
    while (f->dispatched < before + 2 && uv_hrtime() < deadline) {
        ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0)
            buf_append(&got, chunk, (size_t)n);
        uv_run(&f->h.loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(f->dispatched, before + 2);
    tc_wait_for(&f->h, tc_cond_never, NULL,
                100); /* the server reads the FIN while /medium is queued */
    struct tc_client *c = tc_client_adopt(&f->h, fd);
    buf_append(&c->in, got.data, got.len);
    buf_free(&got);
    while (tc_client_parse_one(c))
        ;
    tc_client_wait(c, 2);
    if (c->count != 2)
        fail_msg("2 requests then half-close: %zu complete replies, then %zu stray bytes and EOF",
                 c->count, c->in.len);
    assert_int_equal(c->responses[0].body_len, LARGE_BODY_BYTES);
    assert_int_equal(c->responses[1].body_len, MEDIUM_BODY_BYTES);
    tc_client_expect_eof(c);
    tc_client_close(c);
}

/* A reply still being written (the client's window is full) when the server reads the client's
 * FIN must still be delivered whole. Whether the window opens depends on how much socket buffer
 * is free when /medium is flushed, so the scenario runs 5 times; any truncation fails. */
static void test_half_close_while_reply_in_flight(void **state) {
    struct fixture *f = *state;
    server_start(f, 0);
    for (int i = 0; i < 5; i++)
        half_close_while_reply_in_flight_once(f);
    finish(f);
}

/* max_connections = 2: the third connection gets 503 UNAVAILABLE and is closed; the first two
 * keep working, and a slot freed by a client is usable again. */
static void test_connection_cap(void **state) {
    struct fixture *f = *state;
    server_start(f, 2);
    struct tc_client *a = tc_client_open(&f->h);
    struct tc_client *b = tc_client_open(&f->h);
    tc_client_send_str(a, SIMPLE_GET);
    tc_client_send_str(b, SIMPLE_GET);
    assert_int_equal(tc_client_wait(a, 1), 1);
    assert_int_equal(tc_client_wait(b, 1), 1);
    tc_server_wait_connections(&f->h, 2, TC_WAIT_MS);

    struct tc_client *third = tc_client_open(&f->h);
    tc_client_send_str(third, SIMPLE_GET);
    assert_int_equal(tc_client_wait(third, 1), 1);
    assert_error_response(&third->responses[0], 503, "UNAVAILABLE");
    assert_true(tc_has_header(&third->responses[0], "retry-after"));
    assert_closes_connection(&third->responses[0]);
    tc_client_expect_eof(third);
    assert_int_equal(third->count, 1);
    assert_int_equal(f->events.len, 2 * strlen("D/hello;"));

    tc_client_send_str(a, SIMPLE_GET);
    assert_int_equal(tc_client_wait(a, 2), 2);
    assert_int_equal(a->responses[1].status, 200);

    tc_client_close(third);
    tc_client_close(a);
    tc_server_wait_connections(&f->h, 1, TC_SHUTDOWN_WAIT_MS);
    struct tc_client *d = tc_client_open(&f->h);
    tc_client_send_str(d, SIMPLE_GET);
    assert_int_equal(tc_client_wait(d, 1), 1);
    assert_int_equal(d->responses[0].status, 200);
    finish(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_simple_get),
        T(test_one_byte_per_write),
        T(test_split_at_every_offset),
        T(test_pipelined_in_one_write),
        T(test_keep_alive_50),
        T(test_connection_close),
        T(test_http10_closes_by_default),
        T(test_http10_keep_alive),
        T(test_headers_under_limit),
        T(test_headers_too_large_431),
        T(test_too_many_headers_431),
        T(test_body_at_limit),
        T(test_body_over_limit_413),
        T(test_chunked_over_limit_413),
        T(test_malformed_request_400),
        T(test_pipelined_then_malformed),
        T(test_error_reply_lingers_reading),
        T(test_expect_continue),
        T(test_expect_continue_over_limit),
        T(test_async_handler_pipelined),
        T(test_held_request_client_eof),
        T(test_held_request_client_reset),
        T(test_shutdown_waits_for_held_reply),
        T(test_request_id_in_error_body),
        T(test_request_id_echo_and_replace),
        T(test_reply_from_timer_flushed_promptly),
        T(test_output_backpressure),
        T(test_half_close_small_reply),
        T(test_half_close_reply_below_high_water),
        T(test_half_close_large_reply),
        T(test_half_close_pipelined_replies),
        T(test_half_close_while_reply_in_flight),
        T(test_connection_cap), /* last: see its comment */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
