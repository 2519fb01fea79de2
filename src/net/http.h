/* http.h — the HTTP/1.1 server: listening socket, connections, request parsing (http-parser),
 * keep-alive, pipelining, limits and timeouts, and output corking (all responses produced in one
 * loop turn leave in one write). Requests are handed to one dispatch callback; a request is
 * answered exactly once with one of the http_reply_* functions (net/http_reply.h), at once or
 * later (async handlers). The server owns connections and requests; handlers must not keep a
 * request pointer after replying.
 */
#ifndef CONVO_HTTP_H
#define CONVO_HTTP_H

#include <http_parser.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "limits.h"
#include "util/buf.h"

typedef struct http_server http_server;
typedef struct http_conn http_conn;
typedef struct http_request http_request;

#define HTTP_REQUEST_ID_MAX   64
#define HTTP_ROUTE_PARAMS_MAX 4

struct http_header_ref {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
};

struct http_request {
    http_conn *conn;
    enum http_method method;
    size_t url_len;   /* bytes of the request target at the start of head */
    const char *path; /* points into head; not NUL-terminated; NULL until the headers are in */
    size_t path_len;
    const char *query; /* after '?', or NULL */
    size_t query_len;
    int http_minor;
    int keep_alive;
    buf head; /* URL and header bytes, referenced by headers[] */
    struct http_header_ref headers[HTTP_MAX_HEADERS];
    size_t header_count;
    buf body;
    json_t *json; /* parsed body for routes that take JSON (owned, freed after the reply) */
    char request_id[HTTP_REQUEST_ID_MAX + 1];
    uint64_t start_ns;
    /* set by the router */
    int route_index; /* for metrics; -1 = static / unmatched */
    void *route_ctx;
    struct {
        const char *ptr;
        size_t len;
    } params[HTTP_ROUTE_PARAMS_MAX];
    size_t param_count;
    int replied;
};

typedef void (*http_dispatch_fn)(http_request *req, void *ctx);

struct http_server_options {
    const char *host;
    int port; /* 0 = pick one */
    int max_connections;
    http_dispatch_fn dispatch;
    void *dispatch_ctx;
};

/* Binds and listens. Returns 0 or a negative libuv error (the server is then freed). */
int http_server_start(uv_loop_t *loop, const struct http_server_options *opt, http_server **out);
/* "ADDR:PORT" actually bound (IPv6 in brackets) into out. */
int http_server_address(http_server *s, char *out, size_t outlen);
/* Stops accepting; closes idle connections now and busy ones once their reply is written.
 * Calls done when every connection and handle is closed; then http_server_free. */
void http_server_shutdown(http_server *s, void (*done)(void *arg), void *arg);
/* Closes every connection at once (shutdown deadline passed). */
void http_server_force_close(http_server *s);
void http_server_free(http_server *s);
int http_server_open_connections(const http_server *s);

/* Case-insensitive header lookup; returns the value (not NUL-terminated) or NULL. */
const char *http_request_header(const http_request *req, const char *name, size_t *len);

/* The peer's IP address as text into out; "" when unknown. */
void http_request_peer_ip(const http_request *req, char *out, size_t outlen);

/* ---- protocol upgrade (WebSocket) ----
 * After http_upgrade the connection carries another protocol: its bytes go to on_data, its
 * deadline (http_conn_set_deadline) calls on_deadline, a server shutdown calls on_shutdown, and
 * on_close is called once, from the close callback, when the connection is gone for any reason
 * (the owner frees its context there). Between the start of closing and on_close, writes are
 * dropped and http_conn_is_closing answers 1. Writes use http_conn_write. */
struct http_upgrade_ops {
    void (*on_data)(void *ctx, const char *data, size_t len);
    void (*on_deadline)(void *ctx, uint64_t now_ms);
    void (*on_shutdown)(void *ctx);
    void (*on_close)(void *ctx);
};

/* Writes head (the 101 response) and hands the connection over; finishes req (which must not be
 * used again). Returns 0, or -1 when the connection or the server is closing. */
int http_upgrade(http_request *req, const char *head, size_t head_len,
                 const struct http_upgrade_ops *ops, void *ctx, http_conn **out);
void http_conn_set_deadline(http_conn *c, uint64_t deadline_ms); /* loop time, 0 = none */
uint64_t http_conn_now(const http_conn *c);                      /* loop time in ms */
size_t http_conn_output_pending(const http_conn *c);             /* bytes not yet written */
void http_conn_close_after_write(http_conn *c); /* close once everything queued is written */
void http_conn_abort(http_conn *c);             /* close now */

/* Internal to net/: used by http_reply.c to queue bytes and finish the request. */
void http_conn_write(http_conn *c, const void *data, size_t len);
/* The connection's output buffer, scheduled for the next flush; NULL when it is closing. */
buf *http_conn_output(http_conn *c);
void http_request_finish(http_request *req, int status);
int http_conn_is_closing(const http_conn *c);

#endif
