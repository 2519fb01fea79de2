/* router.c — the route table and the dispatch step between http.c and the handlers: matching,
 * 404/405, JSON body checks, and the static-file fallback. Linear match over a small table:
 * a few dozen routes cost less than any hashing. */
#include "net/router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http_reply.h"
#include "util/metrics.h"

struct route {
    uint64_t methods;
    const char *pattern;
    route_handler handler;
    void *ctx;
    unsigned flags;
    int metrics_index;
};

struct router {
    struct route routes[ROUTER_MAX_ROUTES];
    size_t count;
    route_handler fallback;
    void *fallback_ctx;
};

router *router_new(route_handler fallback, void *fallback_ctx) {
    router *r = calloc(1, sizeof *r);
    if (r) {
        r->fallback = fallback;
        r->fallback_ctx = fallback_ctx;
    }
    return r;
}

void router_free(router *r) {
    free(r);
}

int router_add(router *r, uint64_t methods, const char *pattern, route_handler handler, void *ctx,
               unsigned flags) {
    size_t params = 0;
    for (const char *p = pattern; (p = strchr(p, '{')) != NULL; p++)
        params++;
    if (r->count == ROUTER_MAX_ROUTES || pattern[0] != '/' || params > HTTP_ROUTE_PARAMS_MAX)
        return -1;
    if (methods & ROUTE_METHOD(HTTP_GET))
        methods |= ROUTE_METHOD(HTTP_HEAD);
    r->routes[r->count++] =
        (struct route){methods, pattern, handler, ctx, flags, metrics_route_register(pattern)};
    return 0;
}

/* Matches path against pattern segment by segment, capturing "{…}" segments into req. */
static int route_match(const char *pattern, const char *path, size_t path_len, http_request *req) {
    const char *p = pattern, *s = path, *end = path + path_len;
    size_t params = 0;
    while (*p && s < end) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        const char *seg_end = memchr(s, '/', (size_t)(end - s));
        size_t seg_len = (size_t)((seg_end ? seg_end : end) - s);
        const char *pat_end = strchr(p, '/');
        size_t pat_len = pat_end ? (size_t)(pat_end - p) : strlen(p);
        if (pat_len >= 2 && p[0] == '{') {
            if (seg_len == 0 || params == HTTP_ROUTE_PARAMS_MAX)
                return 0;
            req->params[params].ptr = s;
            req->params[params++].len = seg_len;
        } else if (pat_len != seg_len || memcmp(p, s, seg_len) != 0) {
            return 0;
        }
        p += pat_len, s += seg_len;
    }
    if (*p || s != end)
        return 0;
    req->param_count = params;
    return 1;
}

static int content_type_is_json(const http_request *req) {
    size_t len = 0;
    const char *v = http_request_header(req, "content-type", &len);
    static const char json[] = "application/json";
    size_t n = sizeof json - 1;
    if (!v || len < n || strncasecmp(v, json, n) != 0)
        return 0;
    return len == n || v[n] == ';' || v[n] == ' ';
}

/* Returns 0 when the handler may run; otherwise it has already answered. */
static int parse_json_body(http_request *req) {
    if (req->body.len == 0)
        return 0;
    if (!content_type_is_json(req)) {
        http_reply_error(req, ERR_UNSUPPORTED_MEDIA_TYPE, NULL);
        return -1;
    }
    json_error_t err;
    req->json = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &err);
    if (!req->json || !json_is_object(req->json)) {
        http_reply_error(req, ERR_BAD_REQUEST,
                         req->json ? "The body must be a JSON object."
                                   : "The body is not valid JSON.");
        return -1;
    }
    return 0;
}

static void reply_method_not_allowed(http_request *req, uint64_t allowed) {
    char headers[256] = "Allow: ";
    const char *sep = "";
    for (int m = 0; m < 64; m++) {
        if (allowed & ROUTE_METHOD(m)) {
            strncat(headers, sep, sizeof headers - strlen(headers) - 1);
            strncat(headers, http_method_str((enum http_method)m),
                    sizeof headers - strlen(headers) - 1);
            sep = ", ";
        }
    }
    strncat(headers, "\r\n", sizeof headers - strlen(headers) - 1);
    http_reply_error_full(req, ERR_METHOD_NOT_ALLOWED, NULL, NULL, 0, headers);
}

static int path_is_api(const http_request *req) {
    return req->path_len >= 4 && memcmp(req->path, "/api", 4) == 0 &&
           (req->path_len == 4 || req->path[4] == '/');
}

void router_dispatch(http_request *req, void *ctx) {
    router *r = ctx;
    uint64_t allowed = 0;
    for (size_t i = 0; i < r->count; i++) {
        struct route *rt = &r->routes[i];
        if (!route_match(rt->pattern, req->path, req->path_len, req))
            continue;
        if (!(rt->methods & ROUTE_METHOD(req->method))) {
            allowed |= rt->methods;
            continue;
        }
        req->route_index = rt->metrics_index;
        req->route_ctx = rt->ctx;
        if ((rt->flags & ROUTE_JSON_BODY) && parse_json_body(req) != 0)
            return;
        rt->handler(req, rt->ctx);
        return;
    }
    req->route_index = metrics_route_unmatched();
    if (allowed)
        reply_method_not_allowed(req, allowed);
    else if (path_is_api(req) || !r->fallback)
        http_reply_error(req, ERR_NOT_FOUND, NULL);
    else
        r->fallback(req, r->fallback_ctx);
}

const char *http_request_param(const http_request *req, size_t index, size_t *len) {
    if (index >= req->param_count)
        return NULL;
    *len = req->params[index].len;
    return req->params[index].ptr;
}
