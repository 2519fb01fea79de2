/* test_static.c — tests of net/static.c: the Accept-Encoding parser on its own, then a real
 * server on 127.0.0.1 (static_serve as the router's fallback) serving a small fixture table and
 * the embedded web client: the gzip copy or the file itself as Accept-Encoding says, Vary,
 * Content-Encoding, the "-gz" ETag and its 304s, HEAD's Content-Length, content types and the
 * security headers (nosniff on every response, CSP / X-Frame-Options / Referrer-Policy on
 * HTML). Every test ends with uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zlib.h>

#include "http_client.h"
#include "net/router.h"
#include "net/static.h"
#include "util/embed.h"

/* ---- Accept-Encoding on its own ---- */

static int gzip_for(const char *value) {
    struct static_accept_encoding ae;
    static_accept_encoding_init(&ae);
    static_accept_encoding_parse(&ae, value, strlen(value));
    return static_accept_encoding_gzip(&ae);
}

static void test_accept_encoding_gzip(void **state) {
    (void)state;
    static const char *const yes[] = {
        "gzip",
        "GZIP",
        "gzip, deflate, br",
        "deflate, gzip;q=1.0, *;q=0.5",
        " br ,  gzip ",
        "x-gzip",
        "*",
        "gzip;q=0.001",
        "gzip; q=0.5",
        "gzip;Q=1",
        "br;q=1, gzip;q=.9x, gzip;q=0.9",
        "identity;q=0.5, gzip;q=0.8",
        "gzip;level=\"9\";q=1",
        "br, *;q=0.1",
        "gzip;q=1.",
        "gzip;q=1.000",
        "br,,gzip",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!gzip_for(yes[i]))
            fail_msg("Accept-Encoding: %s should allow gzip", yes[i]);
}

static void test_accept_encoding_identity(void **state) {
    (void)state;
    static const char *const no[] = {
        "",
        "identity",
        "br, deflate",
        "gzip;q=0",
        "gzip;q=0.000",
        "GZIP;Q=0",
        "*;q=0",
        "gzip;q=0, *",
        "gzipx",
        "xgzip",
        "gzip;q=2",
        "gzip;q=1.5",
        "gzip;q=0.1234",
        "gzip;q=abc",
        "gzip;q=",
        "gzip junk",
        "gzip;q=0.5, identity",
        "*;q=0.5, identity;q=1",
        "x-gzip;q=0",
        ",,, ,",
        "gzip;q=\"1\"",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (gzip_for(no[i]))
            fail_msg("Accept-Encoding: %s should not allow gzip", no[i]);
}

/* Several field lines are one list. */
static void test_accept_encoding_lines(void **state) {
    (void)state;
    struct static_accept_encoding ae;
    static_accept_encoding_init(&ae);
    assert_false(static_accept_encoding_gzip(&ae)); /* no field: identity */
    static_accept_encoding_parse(&ae, "br", 2);
    static_accept_encoding_parse(&ae, "gzip;q=0.7", 10);
    assert_true(static_accept_encoding_gzip(&ae));
    static_accept_encoding_parse(&ae, "identity;q=0.9", 14);
    assert_false(static_accept_encoding_gzip(&ae));
}

/* ---- a fixture table served through a real server ---- */

static const unsigned char APP_JS[] = "console.log('app');";
static const unsigned char APP_JS_GZ[] = "(pretend gzip of app.js)";
static const unsigned char INDEX[] = "<!doctype html><title>t</title>";
static const unsigned char INDEX_GZ[] = "(pretend gzip of the index)";
static const unsigned char LOGO[] = "\x89PNG";

#define FIXTURE_FILE(path, type, etag, data, gz)                                                   \
    { path, type, "\"" etag "\"", data, sizeof data - 1, gz, sizeof gz - 1, "\"" etag "-gz\"" }

static const struct embedded_file FIXTURE_FILES[] = {
    FIXTURE_FILE("/app.js", "text/javascript; charset=utf-8", "a1", APP_JS, APP_JS_GZ),
    FIXTURE_FILE("/index.html", "text/html; charset=utf-8", "i1", INDEX, INDEX_GZ),
    {"/logo.png", "image/png", "\"p1\"", LOGO, sizeof LOGO - 1, NULL, 0, NULL},
};
static const struct static_site FIXTURE = {FIXTURE_FILES, 3};

struct fixture {
    struct tc_harness h;
    router *router;
};

static void server_start(struct fixture *f, const struct static_site *site) {
    f->router = router_new(static_serve, (void *)site);
    assert_non_null(f->router);
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

static int teardown(void **state) {
    struct fixture *f = *state;
    if (tc_harness_teardown(&f->h) != 0)
        return -1;
    router_free(f->router);
    free(f);
    return 0;
}

/* ---- checks ---- */

static void assert_header(const struct tc_response *r, const char *name, const char *want) {
    char got[512] = "";
    if (!tc_header_get(r->head, name, got, sizeof got))
        fail_msg("no %s header in:\n%s", name, r->head);
    if (strcmp(got, want) != 0)
        fail_msg("%s: %s, expected %s", name, got, want);
}

static void assert_no_header(const struct tc_response *r, const char *name) {
    if (tc_has_header(r, name))
        fail_msg("unexpected %s header in:\n%s", name, r->head);
}

static void assert_body(const struct tc_response *r, const void *data, size_t len) {
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", len);
    assert_header(r, "content-length", cl);
    assert_int_equal(r->body_len, len);
    assert_memory_equal(r->body, data, len);
}

/* A 200 with the file as it is: its ETag, no Content-Encoding. */
static void assert_identity(const struct tc_response *r, const struct embedded_file *file) {
    assert_int_equal(r->status, 200);
    assert_header(r, "content-type", file->content_type);
    assert_header(r, "etag", file->etag);
    assert_header(r, "x-content-type-options", "nosniff");
    assert_no_header(r, "content-encoding");
    assert_body(r, file->data, file->size);
    if (file->gzip_data)
        assert_header(r, "vary", "Accept-Encoding");
    else
        assert_no_header(r, "vary");
}

/* A 200 with the gzip copy: Content-Encoding, Vary, the "-gz" ETag. */
static void assert_gzip(const struct tc_response *r, const struct embedded_file *file) {
    assert_int_equal(r->status, 200);
    assert_header(r, "content-type", file->content_type);
    assert_header(r, "content-encoding", "gzip");
    assert_header(r, "vary", "Accept-Encoding");
    assert_header(r, "etag", file->gzip_etag);
    assert_header(r, "x-content-type-options", "nosniff");
    assert_body(r, file->gzip_data, file->gzip_size);
}

static const struct tc_response *get(struct tc_client *c, const char *method, const char *path,
                                     const char *headers) {
    char req[512];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\n%s\r\n", method, path, headers);
    return tc_exchange(c, req);
}

/* ---- serving ---- */

static void test_gzip_when_accepted(void **state) {
    struct fixture *f = *state;
    const struct embedded_file *js = &FIXTURE_FILES[0];
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    assert_identity(get(c, "GET", "/app.js", ""), js);
    assert_gzip(get(c, "GET", "/app.js", "Accept-Encoding: gzip, deflate, br\r\n"), js);
    assert_identity(get(c, "GET", "/app.js", "Accept-Encoding: gzip;q=0\r\n"), js);
    assert_identity(get(c, "GET", "/app.js", "Accept-Encoding: br\r\n"), js);
    assert_identity(get(c, "GET", "/app.js", "Accept-Encoding:\r\n"), js);
    assert_gzip(get(c, "GET", "/app.js", "Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n"), js);
    assert_gzip(get(c, "GET", "/app.js", "accept-encoding: *\r\n"), js);
    tc_finish(&f->h);
}

/* Client routes get the index, gzipped like the file itself. */
static void test_gzip_index_for_routes(void **state) {
    struct fixture *f = *state;
    const struct embedded_file *index = &FIXTURE_FILES[1];
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    assert_gzip(get(c, "GET", "/", "Accept-Encoding: gzip\r\n"), index);
    assert_gzip(get(c, "GET", "/chat/12", "Accept-Encoding: gzip\r\n"), index);
    assert_identity(get(c, "GET", "/chat/12", ""), index);
    tc_finish(&f->h);
}

/* A file with no gzip copy is sent as it is, with no Vary. */
static void test_no_gzip_copy(void **state) {
    struct fixture *f = *state;
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    assert_identity(get(c, "GET", "/logo.png", "Accept-Encoding: gzip\r\n"), &FIXTURE_FILES[2]);
    tc_finish(&f->h);
}

static void assert_not_modified(const struct tc_response *r, const char *etag) {
    assert_int_equal(r->status, 304);
    assert_int_equal(r->body_len, 0);
    assert_header(r, "etag", etag);
    assert_header(r, "vary", "Accept-Encoding");
    assert_header(r, "x-content-type-options", "nosniff");
    assert_no_header(r, "content-encoding");
    assert_no_header(r, "content-length");
}

/* Each variant revalidates against its own ETag only. */
static void test_etag_per_variant(void **state) {
    struct fixture *f = *state;
    const struct embedded_file *js = &FIXTURE_FILES[0];
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    assert_not_modified(
        get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: \"a1-gz\"\r\n"),
        js->gzip_etag);
    assert_not_modified(
        get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: \"x\", W/\"a1-gz\"\r\n"),
        js->gzip_etag);
    assert_not_modified(get(c, "GET", "/app.js", "If-None-Match: \"a1\"\r\n"), js->etag);
    /* a tag of the other variant does not match */
    assert_identity(get(c, "GET", "/app.js", "If-None-Match: \"a1-gz\"\r\n"), js);
    assert_gzip(get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: \"a1\"\r\n"), js);
    assert_gzip(get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: \"a1-g\"\r\n"),
                js);
    assert_not_modified(get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\nIf-None-Match: *\r\n"),
                        js->gzip_etag);
    assert_not_modified(get(c, "GET", "/app.js",
                            "Accept-Encoding: gzip\r\nIf-None-Match: \"b\"\r\n"
                            "If-None-Match: \"a1-gz\"\r\n"),
                        js->gzip_etag);
    tc_finish(&f->h);
}

/* HEAD: the Content-Length of the variant GET would send, and no body (the connection stays in
 * sync for the next request). */
static void test_head(void **state) {
    struct fixture *f = *state;
    const struct embedded_file *js = &FIXTURE_FILES[0];
    char cl[32];
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r = get(c, "HEAD", "/app.js", "Accept-Encoding: gzip\r\n");
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    snprintf(cl, sizeof cl, "%zu", js->gzip_size);
    assert_header(r, "content-length", cl);
    assert_header(r, "content-encoding", "gzip");
    assert_header(r, "etag", js->gzip_etag);
    r = get(c, "HEAD", "/app.js", "");
    assert_int_equal(r->body_len, 0);
    snprintf(cl, sizeof cl, "%zu", js->size);
    assert_header(r, "content-length", cl);
    assert_no_header(r, "content-encoding");
    assert_gzip(get(c, "GET", "/app.js", "Accept-Encoding: gzip\r\n"), js);
    tc_finish(&f->h);
}

/* ---- security headers ---- */

static void assert_html_headers(const struct tc_response *r) {
    char csp[512] = "";
    assert_true(tc_header_get(r->head, "content-security-policy", csp, sizeof csp));
    assert_non_null(strstr(csp, "default-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "object-src 'none'"));
    assert_header(r, "x-frame-options", "DENY");
    assert_header(r, "referrer-policy", "same-origin");
    assert_header(r, "x-content-type-options", "nosniff");
    assert_header(r, "cache-control", "no-cache");
}

static void test_security_headers(void **state) {
    struct fixture *f = *state;
    server_start(f, &FIXTURE);
    struct tc_client *c = tc_client_open(&f->h);
    assert_html_headers(get(c, "GET", "/", ""));
    assert_html_headers(get(c, "GET", "/some/route", "Accept-Encoding: gzip\r\n"));
    assert_html_headers(get(c, "GET", "/", "If-None-Match: \"i1\"\r\n"));
    const struct tc_response *r = get(c, "GET", "/app.js", "");
    assert_header(r, "x-content-type-options", "nosniff");
    assert_header(r, "cache-control", "no-cache");
    assert_no_header(r, "content-security-policy");
    r = get(c, "GET", "/missing.js", "");
    assert_int_equal(r->status, 404);
    assert_header(r, "x-content-type-options", "nosniff");
    r = get(c, "POST", "/", "Content-Length: 0\r\n");
    assert_int_equal(r->status, 405);
    assert_header(r, "x-content-type-options", "nosniff");
    tc_finish(&f->h);
}

/* ---- the embedded web client ---- */

/* inflate of a whole gzip member; the caller frees. */
static unsigned char *gunzip(const unsigned char *data, size_t len, size_t *out_len) {
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = len * 20 + 1024;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    *out_len = z.total_out;
    inflateEnd(&z);
    assert_int_equal(rc, Z_STREAM_END);
    return out;
}

/* The index goes out gzipped and decompresses to the very bytes of web/index.html. */
static void test_web_index_gzip(void **state) {
    struct fixture *f = *state;
    const struct embedded_file *index = embed_find(web_assets, web_assets_count, "/index.html", 11);
    assert_non_null(index);
    assert_non_null(index->gzip_data);
    server_start(f, NULL);
    struct tc_client *c = tc_client_open(&f->h);
    const struct tc_response *r = get(c, "GET", "/", "Accept-Encoding: gzip, deflate, br\r\n");
    assert_gzip(r, index);
    assert_html_headers(r);
    size_t len = 0;
    unsigned char *plain = gunzip((const unsigned char *)r->body, r->body_len, &len);
    assert_int_equal(len, index->size);
    assert_memory_equal(plain, index->data, len);
    free(plain);
    assert_identity(get(c, "GET", "/", ""), index);
    tc_finish(&f->h);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding_gzip),
        cmocka_unit_test(test_accept_encoding_identity),
        cmocka_unit_test(test_accept_encoding_lines),
        T(test_gzip_when_accepted),
        T(test_gzip_index_for_routes),
        T(test_no_gzip_copy),
        T(test_etag_per_variant),
        T(test_head),
        T(test_security_headers),
        T(test_web_index_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
