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
#include "http_client.h"
#include "util/buf.h"
#include "util/embed.h"

struct fixture {
    struct tc_harness h;
    router *router;
};

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

static void server_start(struct fixture *f) {
    f->router = router_new(static_serve, NULL);
    assert_non_null(f->router);
    assert_int_equal(router_add(f->router, ROUTE_METHOD(HTTP_GET), THING, thing_get, f, 0), 0);
    assert_int_equal(router_add(f->router, ROUTE_METHOD(HTTP_GET), PART, part_get, f, 0), 0);
    assert_int_equal(
        router_add(f->router, ROUTE_METHOD(HTTP_POST), PART, part_post, f, ROUTE_JSON_BODY), 0);
    struct http_server_options opt = {
        .host = "127.0.0.1", .port = 0, .dispatch = router_dispatch, .dispatch_ctx = f->router};
    tc_server_start(&f->h, &opt);
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || tc_harness_init(&f->h) != 0)
        return -1;
    *state = f;
    return 0;
}

/* After a failed test: close what is left; leak rather than free memory a live handle uses. */
static int teardown(void **state) {
    struct fixture *f = *state;
    if (tc_harness_teardown(&f->h) != 0)
        return -1;
    router_free(f->router);
    free(f);
    return 0;
}

/* ---- checks ---- */

static void assert_error_response(const struct tc_response *r, int status, const char *code) {
    char ct[128] = "", rid[128] = "", got_code[64] = "", got_rid[128] = "";
    assert_int_equal(r->status, status);
    assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(tc_header_get(r->head, "x-request-id", rid, sizeof rid));
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
static void assert_seen(const struct tc_response *r, const char *route, const char *params,
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

static void assert_allow(const struct tc_response *r, const char *const *methods) {
    char allow[128] = "";
    assert_true(tc_header_get(r->head, "allow", allow, sizeof allow));
    for (; *methods; methods++)
        if (!strstr(allow, *methods))
            fail_msg("Allow: %s lacks %s", allow, *methods);
}

/* ---- routing ---- */

static void test_params_captured(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    assert_seen(tc_exchange(c, "GET /api/v1/things/42 HTTP/1.1\r\n\r\n"), "thing", "[\"42\"]",
                "null");
    assert_seen(tc_exchange(c, "GET /api/v1/things/42?x=1&y=/z HTTP/1.1\r\n\r\n"), "thing",
                "[\"42\"]", "null");
    assert_seen(tc_exchange(c, "GET /api/v1/things/a-b_c/parts/7 HTTP/1.1\r\n\r\n"), "part-get",
                "[\"a-b_c\",\"7\"]", "null");
    assert_seen(tc_exchange(c, "GET /api/v1/things/a%20b HTTP/1.1\r\n\r\n"), "thing", "[\"a%20b\"]",
                "null");
    tc_finish(&f->h);
}

static void test_unknown_api_path_404(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
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
        const struct tc_response *r = tc_exchange(c, req);
        if (r->status != 404)
            fail_msg("GET %s → %d, expected 404", paths[i], r->status);
        assert_error_response(r, 404, "NOT_FOUND");
    }
    assert_false(c->eof); /* errors from the router keep the connection */
    tc_finish(&f->h);
}

static void test_wrong_method_405_with_allow(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const char *get_head[] = {"GET", "HEAD", NULL};
    const struct tc_response *r = tc_exchange(c, "DELETE /api/v1/things/1 HTTP/1.1\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    r = tc_exchange(c, "POST /api/v1/things/1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    const char *all[] = {"GET", "HEAD", "POST", NULL};
    r = tc_exchange(c, "PUT /api/v1/things/1/parts/2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, all);
    tc_finish(&f->h);
}

/* HEAD on a GET route: same status and Content-Length, no body bytes (the pipelined GET after
 * it parses cleanly, which it would not if body bytes had been sent). */
static void test_head_on_get_route(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *get = tc_exchange(c, "GET /api/v1/things/9 HTTP/1.1\r\n\r\n");
    size_t get_len = get->body_len;
    tc_client_send_request(c, "HEAD /api/v1/things/9 HTTP/1.1\r\n\r\n"
                              "GET /api/v1/things/10 HTTP/1.1\r\n\r\n");
    c->sent++; /* two requests in one write; the second is a GET */
    c->want = 3;
    tc_wait_for(&f->h, tc_cond_responses, c, TC_WAIT_MS);
    assert_int_equal(c->count, 3);
    const struct tc_response *head = &c->responses[1], *after = &c->responses[2];
    assert_int_equal(head->status, 200);
    assert_int_equal(head->body_len, 0);
    char cl[32] = "";
    assert_true(tc_header_get(head->head, "content-length", cl, sizeof cl));
    assert_int_equal(strtoul(cl, NULL, 10), get_len);
    assert_seen(after, "thing", "[\"10\"]", "null");
    tc_finish(&f->h);
}

/* ---- JSON bodies ---- */

static const char *post_part(struct tc_client *c, const char *content_type, const char *body,
                             const struct tc_response **out) {
    static char req[1024];
    int n = snprintf(req, sizeof req, "POST /api/v1/things/5/parts/6 HTTP/1.1\r\n");
    if (content_type)
        n += snprintf(req + n, sizeof req - (size_t)n, "Content-Type: %s\r\n", content_type);
    snprintf(req + n, sizeof req - (size_t)n, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    *out = tc_exchange(c, req);
    return req;
}

static void test_json_route_without_body(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r;
    post_part(c, NULL, "", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "null");
    r = tc_exchange(c, "POST /api/v1/things/5/parts/6 HTTP/1.1\r\n\r\n"); /* no Content-Length */
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "null");
    tc_finish(&f->h);
}

static void test_json_route_rejects(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r;
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
    tc_finish(&f->h);
}

static void test_json_route_valid_object(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r;
    post_part(c, "application/json; charset=utf-8", "{\"name\":\"\xea\xb0\x80\",\"n\":[1,{}]}", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "{\"name\":\"\xea\xb0\x80\",\"n\":[1,{}]}");
    post_part(c, "Application/JSON", "{}", &r);
    assert_seen(r, "part-post", "[\"5\",\"6\"]", "{}");
    tc_finish(&f->h);
}

/* ---- static fallback ---- */

static const struct embedded_file *index_file(void) {
    const struct embedded_file *f = embed_find(web_assets, web_assets_count, "/index.html", 11);
    assert_non_null(f);
    return f;
}

static void assert_index_html(const struct tc_response *r) {
    const struct embedded_file *index = index_file();
    char ct[64] = "", etag[128] = "", cache[64] = "";
    assert_int_equal(r->status, 200);
    assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
    assert_memory_equal(ct, "text/html", 9);
    assert_true(tc_header_get(r->head, "etag", etag, sizeof etag));
    assert_string_equal(etag, index->etag);
    assert_true(tc_header_get(r->head, "cache-control", cache, sizeof cache));
    assert_true(tc_header_get(r->head, "content-security-policy", cache, sizeof cache));
    assert_int_equal(r->body_len, index->size);
    assert_memory_equal(r->body, index->data, index->size);
}

static void test_static_index_and_etag(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    assert_index_html(tc_exchange(c, "GET / HTTP/1.1\r\n\r\n"));
    char req[256];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nIf-None-Match: %s\r\n\r\n", index_file()->etag);
    const struct tc_response *r = tc_exchange(c, req);
    assert_int_equal(r->status, 304);
    assert_int_equal(r->body_len, 0);
    char etag[128] = "", tmp[8];
    assert_true(tc_header_get(r->head, "etag", etag, sizeof etag));
    assert_string_equal(etag, index_file()->etag);
    assert_false(tc_header_get(r->head, "content-length", tmp, sizeof tmp));
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nIf-None-Match: \"other\", W/%s\r\n\r\n",
             index_file()->etag);
    assert_int_equal(tc_exchange(c, req)->status, 304);
    assert_index_html(tc_exchange(c, "GET / HTTP/1.1\r\nIf-None-Match: \"stale\"\r\n\r\n"));
    /* the connection is still in sync after a 304 */
    assert_index_html(tc_exchange(c, "GET /index.html HTTP/1.1\r\n\r\n"));
    tc_finish(&f->h);
}

/* Some embedded file other than the index (web/ changes; any will do), or NULL. */
static const struct embedded_file *other_asset(void) {
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].path, "/index.html") != 0)
            return &web_assets[i];
    return NULL;
}

static void test_static_client_routes_and_assets(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    assert_index_html(tc_exchange(c, "GET /some/client/route HTTP/1.1\r\n\r\n"));
    assert_index_html(tc_exchange(c, "GET /chat HTTP/1.1\r\n\r\n"));
    assert_index_html(tc_exchange(c, "GET /apix HTTP/1.1\r\n\r\n")); /* not under /api/ */
    const struct embedded_file *asset = other_asset();
    char req[512], ct[128] = "";
    const struct tc_response *r;
    if (asset) {
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", asset->path);
        r = tc_exchange(c, req);
        assert_int_equal(r->status, 200);
        assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
        assert_string_equal(ct, asset->content_type);
        assert_int_equal(r->body_len, asset->size);
    }
    r = tc_exchange(c, "HEAD / HTTP/1.1\r\n\r\n");
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_error_response(tc_exchange(c, "GET /missing.js HTTP/1.1\r\n\r\n"), 404, "NOT_FOUND");
    assert_error_response(tc_exchange(c, "GET /dir/missing.css HTTP/1.1\r\n\r\n"), 404,
                          "NOT_FOUND");
    assert_error_response(tc_exchange(c, "GET /../web/index.html HTTP/1.1\r\n\r\n"), 404,
                          "NOT_FOUND");
    tc_finish(&f->h);
}

static void test_static_post_405(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const char *get_head[] = {"GET", "HEAD", NULL};
    const struct tc_response *r = tc_exchange(c, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    assert_allow(r, get_head);
    r = tc_exchange(c, "DELETE /some/client/route HTTP/1.1\r\n\r\n");
    assert_error_response(r, 405, "METHOD_NOT_ALLOWED");
    tc_finish(&f->h);
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
