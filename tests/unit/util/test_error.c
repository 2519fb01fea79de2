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
#include "http_client.h"
#include "util/buf.h"
#include "util/error.h"

struct fixture {
    struct tc_harness h;
};

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

static void server_start(struct fixture *f) {
    struct http_server_options opt = {
        .host = "127.0.0.1", .port = 0, .dispatch = error_dispatch, .dispatch_ctx = f};
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
    free(f);
    return 0;
}

/* ---- checks ---- */

/* The parsed error body of r; checks status, JSON type and requestId == X-Request-Id. Returns the
 * "error" object's document (caller decrefs). */
static json_t *error_doc(const struct tc_response *r, int status) {
    char ct[128] = "", rid[128] = "";
    assert_int_equal(r->status, status);
    assert_true(tc_header_get(r->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(tc_header_get(r->head, "x-request-id", rid, sizeof rid));
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
    struct tc_client *c = tc_client_open(&f->h);
    char req[64], tmp[16];
    for (int code = 0; code < ERR__COUNT; code++) {
        snprintf(req, sizeof req, "GET /code/%d HTTP/1.1\r\n\r\n", code);
        const struct tc_response *r = tc_exchange(c, req);
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
        assert_int_equal(tc_header_get(r->head, "retry-after", tmp, sizeof tmp), wants_retry);
    }
    assert_false(c->eof);
    tc_finish(&f->h);
}

static void test_fields_rendered(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r =
        tc_exchange(c, "GET /fields HTTP/1.1\r\nX-Request-Id: req-42\r\n\r\n");
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
    tc_finish(&f->h);
}

static void test_retry_after(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    char v[32] = "";
    const struct tc_response *r = tc_exchange(c, "GET /rate HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(tc_header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "1");
    r = tc_exchange(c, "GET /rate30 HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(tc_header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "30");
    r = tc_exchange(c, "GET /unavailable HTTP/1.1\r\n\r\n");
    json_t *doc = error_doc(r, 503);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    int msg_ok = msg && strcmp(msg, "The database is busy.") == 0;
    json_decref(doc);
    assert_true(msg_ok);
    assert_true(tc_header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "1");
    r = tc_exchange(c, "GET /extra HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 429));
    assert_true(tc_header_get(r->head, "retry-after", v, sizeof v));
    assert_string_equal(v, "7");
    assert_true(tc_header_get(r->head, "x-extra", v, sizeof v));
    assert_string_equal(v, "yes");
    tc_finish(&f->h);
}

/* A custom message with quotes, backslash, a control character and UTF-8 survives JSON. */
static void test_custom_message_escaped(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    json_t *doc = error_doc(tc_exchange(c, "GET /message HTTP/1.1\r\n\r\n"), 400);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    int same = msg && strcmp(msg, CUSTOM_MESSAGE) == 0;
    json_decref(doc);
    assert_true(same);
    tc_finish(&f->h);
}

/* An error answering HEAD keeps status and Content-Length and sends no body. */
static void test_error_on_head(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *get = tc_exchange(c, "GET /code/13 HTTP/1.1\r\n\r\n");
    size_t len = get->body_len;
    const struct tc_response *head = tc_exchange(c, "HEAD /code/13 HTTP/1.1\r\n\r\n");
    char cl[32] = "";
    assert_int_equal(head->status, 404);
    assert_int_equal(head->body_len, 0);
    assert_true(tc_header_get(head->head, "content-length", cl, sizeof cl));
    assert_int_equal(strtoul(cl, NULL, 10), len);
    assert_int_equal(tc_exchange(c, "GET /ok HTTP/1.1\r\n\r\n")->status, 200);
    tc_finish(&f->h);
}

/* http_reply_json with no body (the out-of-memory path) answers 500 INTERNAL. */
static void test_json_null_is_internal(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    json_t *doc = error_doc(tc_exchange(c, "GET /json-null HTTP/1.1\r\n\r\n"), 500);
    const char *code = json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
    int ok = code && strcmp(code, "INTERNAL") == 0;
    json_decref(doc);
    assert_true(ok);
    tc_finish(&f->h);
}

/* extra_headers of any length reach the client whole, and the response stays well-formed. */
static void test_long_extra_header_kept(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r = tc_exchange(c, "GET /long-header HTTP/1.1\r\n\r\n");
    json_decref(error_doc(r, 404));
    char v[LONG_HEADER_VALUE_BYTES + 16] = "";
    assert_true(tc_header_get(r->head, "x-long", v, sizeof v));
    assert_int_equal(strlen(v), LONG_HEADER_VALUE_BYTES);
    tc_finish(&f->h);
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
