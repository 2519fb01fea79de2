/* static.c — the embedded web client (see static.h). No file system access at run time: the
 * files were turned into C arrays at build time, so a path can only name one of them. */
#include "net/static.h"

#include <string.h>

#include "net/http_reply.h"
#include "util/embed.h"
#include "util/metrics.h"

/* The page may load only its own scripts, styles and images, and talk only to its own origin. */
#define STATIC_HTML_HEADERS                                                                        \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "          \
    "form-action 'self'; object-src 'none'\r\n"                                                    \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: same-origin\r\n"

/* Revalidated on every use (ETag makes it a cheap 304), so a deploy is seen at once. */
#define STATIC_CACHE_HEADER "Cache-Control: no-cache\r\n"

static int last_segment_has_dot(const char *path, size_t len) {
    for (size_t i = len; i > 0; i--) {
        if (path[i - 1] == '/')
            return 0;
        if (path[i - 1] == '.')
            return 1;
    }
    return 0;
}

static int etag_matches(const http_request *req, const char *etag) {
    size_t len = 0;
    const char *v = http_request_header(req, "if-none-match", &len);
    size_t etag_len = strlen(etag);
    if (!v)
        return 0;
    /* A list of tags, possibly weak (W/"…"): look for ours anywhere in it. */
    for (size_t i = 0; i + etag_len <= len; i++)
        if (memcmp(v + i, etag, etag_len) == 0)
            return 1;
    return len == 1 && v[0] == '*';
}

static void serve_file(http_request *req, const struct embedded_file *f) {
    int is_html = strncmp(f->content_type, "text/html", 9) == 0;
    char headers[768];
    snprintf(headers, sizeof headers, "ETag: %s\r\n%s%s", f->etag, STATIC_CACHE_HEADER,
             is_html ? STATIC_HTML_HEADERS : "");
    if (etag_matches(req, f->etag))
        http_reply(req, 304, NULL, NULL, 0, headers);
    else
        http_reply(req, 200, f->content_type, f->data, f->size, headers);
}

void static_serve(http_request *req, void *ctx) {
    (void)ctx;
    req->route_index = metrics_route_static();
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        http_reply_error_full(req, ERR_METHOD_NOT_ALLOWED, NULL, NULL, 0, "Allow: GET, HEAD\r\n");
        return;
    }
    const struct embedded_file *f = NULL;
    if (!(req->path_len == 1 && req->path[0] == '/'))
        f = embed_find(web_assets, web_assets_count, req->path, req->path_len);
    if (!f && last_segment_has_dot(req->path, req->path_len)) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
        return;
    }
    if (!f)
        f = embed_find(web_assets, web_assets_count, "/index.html", 11);
    if (!f) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
        return;
    }
    serve_file(req, f);
}
