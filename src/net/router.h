/* router.h — maps (method, path) to a handler. Patterns are literal segments and "{name}"
 * segments that match one non-empty segment ("/api/v1/chats/{id}/messages"). A path that matches
 * no pattern goes to the fallback (static files) when it is not under /api/; a path that matches
 * with another method is 405 with Allow. Routes flagged ROUTE_JSON_BODY get their body checked
 * (415 when not JSON, 400 when malformed or not an object) and parsed into req->json.
 */
#ifndef CONVO_ROUTER_H
#define CONVO_ROUTER_H

#include <stdint.h>

#include "net/http.h"

#define ROUTER_MAX_ROUTES 48
#define ROUTE_METHOD(m)   (UINT64_C(1) << (m)) /* m: an enum http_method, e.g. HTTP_GET */

enum route_flags {
    ROUTE_JSON_BODY = 1, /* a body, when present, must be a JSON object */
};

typedef void (*route_handler)(http_request *req, void *ctx);

typedef struct router router;

router *router_new(route_handler fallback, void *fallback_ctx);
void router_free(router *r);
/* pattern must outlive the router (a string literal). GET routes also answer HEAD.
 * Returns 0, or -1 when the table is full or the pattern is malformed. */
int router_add(router *r, uint64_t methods, const char *pattern, route_handler handler, void *ctx,
               unsigned flags);

/* The http_dispatch_fn: routes req and runs its handler (ctx is the router). */
void router_dispatch(http_request *req, void *ctx);

/* A path parameter by position (0 = first "{…}"), not NUL-terminated. */
const char *http_request_param(const http_request *req, size_t index, size_t *len);

#endif
