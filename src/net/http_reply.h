/* http_reply.h — the only ways to answer a request. Each writes status line, the standard headers
 * (X-Request-Id, Content-Length, Connection, Date, X-Content-Type-Options) and the body, then
 * finishes the request: the request is gone after it, so call exactly one of them, once.
 * http_reply_error is the ONE place where an error value becomes the SPEC §3.1 JSON.
 */
#ifndef CONVO_HTTP_REPLY_H
#define CONVO_HTTP_REPLY_H

#include <jansson.h>
#include <stddef.h>

#include "net/http.h"
#include "util/error.h"

/* body may be NULL (empty). extra_headers is NULL or "Name: value\r\n…" lines. Body omitted for
 * HEAD (Content-Length kept) and for 204/304. */
void http_reply(http_request *req, int status, const char *content_type, const void *body,
                size_t len, const char *extra_headers);

/* Serialises body (steals the reference) as compact JSON. */
void http_reply_json(http_request *req, int status, json_t *body);
void http_reply_no_content(http_request *req);

/* {"error":{"code","message","requestId"[, "fields"]}} with the code's status. message NULL →
 * the code's default. fields (stolen, may be NULL) → VALIDATION_FAILED details. retry_after > 0
 * adds Retry-After (RATE_LIMITED and UNAVAILABLE get 1 s when 0 is given). extra_headers as in
 * http_reply. */
void http_reply_error_full(http_request *req, enum err_code code, const char *message,
                           json_t *fields, int retry_after, const char *extra_headers);
void http_reply_error(http_request *req, enum err_code code, const char *message);

/* 1 when this reply is the connection's last (Connection: close). */
int http_request_will_close(const http_request *req);

#endif
