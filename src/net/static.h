/* static.h — serves the web client embedded into the binary (util/embed.h): exact files, the
 * index for "/" and for client routes (a last segment with no dot), a JSON 404 for a missing
 * asset. GET and HEAD only; ETag / If-None-Match; security headers on HTML.
 */
#ifndef CONVO_STATIC_H
#define CONVO_STATIC_H

#include "net/http.h"

/* A route_handler (ctx unused): the router's fallback for paths outside /api/. */
void static_serve(http_request *req, void *ctx);

#endif
