/* static.c — the embedded web client (see static.h). No file system access at run time: the
 * files were turned into C arrays at build time, so a path can only name one of them. */
#include "net/static.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http_reply.h"
#include "util/embed.h"
#include "util/metrics.h"

/* The page may load only its own scripts, styles and images, and talk only to its own origin. */
#define STATIC_HTML_HEADERS                                                                        \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "                \
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

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p, const char *end) {
    while (p < end && is_ows(*p))
        p++;
    return p;
}

/* After the next ',' at or after p, or end. */
static const char *past_comma(const char *p, const char *end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    return comma ? comma + 1 : end;
}

/* The value of field line i when it is called name (lower case); NULL otherwise. */
static const char *field_line(const http_request *req, size_t i, const char *name, size_t *len) {
    const struct http_header_ref *h = &req->headers[i];
    if (h->name_len != strlen(name) ||
        strncasecmp(req->head.data + h->name_off, name, h->name_len) != 0)
        return NULL;
    *len = h->value_len;
    return req->head.data + h->value_off;
}

/* ---- Accept-Encoding (RFC 9110 §12.5.3) ---- */

static int is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t token_len(const char *p, const char *end) {
    size_t n = 0;
    while (p + n < end && is_tchar(p[n]))
        n++;
    return n;
}

/* A parameter value: a token or a quoted-string (escapes not needed for q). */
static size_t param_value_len(const char *p, const char *end) {
    if (p < end && *p == '"') {
        const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
        return close ? (size_t)(close + 1 - p) : (size_t)(end - p);
    }
    return token_len(p, end);
}

/* A qvalue ("0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]) in thousandths; -1 when malformed. */
static int parse_qvalue(const char *s, size_t len) {
    if (len == 0 || len > 5 || (s[0] != '0' && s[0] != '1') || (len > 1 && s[1] != '.'))
        return -1;
    int q = (s[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The parameters after a coding (";" OWS name "=" value, repeated) up to the next ',' or end:
 * the q they give (1000 when none), or -1 when they are malformed. Advances *pp. */
static int parse_weight(const char **pp, const char *end) {
    const char *p = *pp;
    int q = 1000;
    for (p = skip_ows(p, end); p < end && *p == ';'; p = skip_ows(p, end)) {
        p = skip_ows(p + 1, end);
        size_t name_len = token_len(p, end);
        const char *name = p;
        p += name_len;
        if (name_len == 0 || p >= end || *p != '=')
            break;
        size_t value_len = param_value_len(++p, end);
        if (name_len == 1 && (name[0] == 'q' || name[0] == 'Q'))
            q = parse_qvalue(p, value_len);
        p += value_len;
    }
    *pp = p;
    return p < end && *p != ',' ? -1 : q;
}

static void record_coding(struct static_accept_encoding *ae, const char *coding, size_t len,
                          int q) {
    if ((len == 4 && strncasecmp(coding, "gzip", 4) == 0) ||
        (len == 6 && strncasecmp(coding, "x-gzip", 6) == 0))
        ae->gzip_q = q;
    else if (len == 8 && strncasecmp(coding, "identity", 8) == 0)
        ae->identity_q = q;
    else if (len == 1 && coding[0] == '*')
        ae->any_q = q;
}

void static_accept_encoding_init(struct static_accept_encoding *ae) {
    ae->gzip_q = ae->identity_q = ae->any_q = -1;
}

void static_accept_encoding_parse(struct static_accept_encoding *ae, const char *value,
                                  size_t len) {
    const char *p = value, *end = value + len;
    while (p < end) {
        p = skip_ows(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        const char *coding = p;
        size_t coding_len = token_len(p, end);
        p += coding_len;
        int q = parse_weight(&p, end);
        p = past_comma(p, end);
        if (coding_len > 0)
            record_coding(ae, coding, coding_len, q < 0 ? 0 : q);
    }
}

int static_accept_encoding_gzip(const struct static_accept_encoding *ae) {
    int gzip = ae->gzip_q >= 0 ? ae->gzip_q : ae->any_q >= 0 ? ae->any_q : 0;
    int identity = ae->identity_q >= 0 ? ae->identity_q : ae->any_q >= 0 ? ae->any_q : 0;
    return gzip > 0 && gzip >= identity;
}

/* Every Accept-Encoding field line of the request, taken as one list. */
static int request_accepts_gzip(const http_request *req) {
    struct static_accept_encoding ae;
    static_accept_encoding_init(&ae);
    size_t len = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        const char *v = field_line(req, i, "accept-encoding", &len);
        if (v)
            static_accept_encoding_parse(&ae, v, len);
    }
    return static_accept_encoding_gzip(&ae);
}

/* ---- If-None-Match (RFC 9110 §13.1.2: weak comparison) ---- */

/* 1 when a list of entity tags names etag (its quoted opaque tag, W/ or not) or is "*". */
static int tag_list_has(const char *p, const char *end, const char *etag, size_t etag_len) {
    while (p < end) {
        if (is_ows(*p) || *p == ',') {
            p++;
            continue;
        }
        if (*p == '*')
            return 1;
        if (end - p > 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *close = *p == '"' ? memchr(p + 1, '"', (size_t)(end - p - 1)) : NULL;
        if (!close) {
            p = past_comma(p, end);
            continue;
        }
        if ((size_t)(close + 1 - p) == etag_len && memcmp(p, etag, etag_len) == 0)
            return 1;
        p = close + 1;
    }
    return 0;
}

static int etag_matches(const http_request *req, const char *etag) {
    size_t len = 0, etag_len = strlen(etag);
    for (size_t i = 0; i < req->header_count; i++) {
        const char *v = field_line(req, i, "if-none-match", &len);
        if (v && tag_list_has(v, v + len, etag, etag_len))
            return 1;
    }
    return 0;
}

/* ---- serving ---- */

/* The gzip copy when there is one and the request allows it, else the file as it is. */
static void serve_file(http_request *req, const struct embedded_file *f) {
    int gzip = f->gzip_data && request_accepts_gzip(req);
    const char *etag = gzip ? f->gzip_etag : f->etag;
    int not_modified = etag_matches(req, etag);
    int is_html = strncmp(f->content_type, "text/html", 9) == 0;
    char headers[1024];
    snprintf(headers, sizeof headers, "ETag: %s\r\n%s%s%s%s", etag, STATIC_CACHE_HEADER,
             f->gzip_data ? "Vary: Accept-Encoding\r\n" : "",
             gzip && !not_modified ? "Content-Encoding: gzip\r\n" : "",
             is_html ? STATIC_HTML_HEADERS : "");
    if (not_modified)
        http_reply(req, 304, NULL, NULL, 0, headers);
    else if (gzip)
        http_reply(req, 200, f->content_type, f->gzip_data, f->gzip_size, headers);
    else
        http_reply(req, 200, f->content_type, f->data, f->size, headers);
}

void static_serve(http_request *req, void *ctx) {
    const struct static_site *site = ctx;
    const struct embedded_file *files = site ? site->files : web_assets;
    size_t count = site ? site->count : web_assets_count;
    req->route_index = metrics_route_static();
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        http_reply_error_full(req, ERR_METHOD_NOT_ALLOWED, NULL, NULL, 0, "Allow: GET, HEAD\r\n");
        return;
    }
    const struct embedded_file *f = NULL;
    if (!(req->path_len == 1 && req->path[0] == '/'))
        f = embed_find(files, count, req->path, req->path_len);
    if (!f && last_segment_has_dot(req->path, req->path_len)) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
        return;
    }
    if (!f)
        f = embed_find(files, count, "/index.html", 11);
    if (!f) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
        return;
    }
    serve_file(req, f);
}
