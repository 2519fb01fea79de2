/* http.c — HTTP/1.1 connections on libuv: accept, parse with http-parser, enforce the limits of
 * limits.h, hand each complete request to the dispatch callback, and write replies corked (one
 * write per connection per loop turn, flushed from a uv_check handle).
 *
 * Owns every connection and its requests. A connection is never freed inside its own call stack:
 * conn_close() starts uv_close on its handles and the memory goes in the close callback, or when
 * the request still held by a handler is finished. One request per connection is in the handler
 * at a time; pipelined bytes wait in the connection's input buffer.
 */
#include "net/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/http_reply.h"
#include "util/log.h"
#include "util/metrics.h"

enum conn_state {
    CONN_READING,    /* parsing requests */
    CONN_DISPATCHED, /* a request is with the handler */
    CONN_DRAINING,   /* last reply queued; close once it is written */
    CONN_LINGERING,  /* error reply written, write side shut; discarding input until EOF */
    CONN_UPGRADED,   /* another protocol (WebSocket) owns the bytes: see http_upgrade */
};

enum after_write { AFTER_NOTHING, AFTER_CLOSE, AFTER_LINGER };

struct http_conn {
    uv_tcp_t tcp;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    http_server *server;
    http_parser parser;
    http_request *req;   /* the request being parsed or handled; NULL between requests */
    http_request *spare; /* the last finished request, kept for reuse with its buffers */
    buf in;              /* received bytes not parsed yet */
    buf out;             /* reply bytes queued this turn */
    buf writing;         /* bytes handed to uv_write */
    enum conn_state state;
    enum after_write after_write;
    enum err_code fail_code; /* set by a parser callback that refuses the request */
    int failed;
    int closing;
    int handles_open;
    int processing;
    int reading;
    int peer_eof;
    int write_in_flight;
    int headers_done;
    int last_was_value;
    size_t head_bytes;
    size_t lingered_bytes;
    uint64_t deadline_ms; /* loop time (uv_now) when the connection times out; 0 = none */
    const struct http_upgrade_ops *upgrade_ops; /* set once upgraded */
    void *upgrade_ctx;
    http_conn *next, *prev; /* all connections */
    http_conn *flush_next;  /* connections with queued output */
    int in_flush_list;
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_check_t flusher;    /* flushes after I/O callbacks … */
    uv_prepare_t preflush; /* … and before the loop blocks (replies made in timer callbacks) */
    uv_timer_t sweeper;    /* one timer for every connection's deadline */
    struct http_server_options opt;
    http_conn *conns;
    http_conn *flush_list;
    int open_connections;
    int handles_open;
    int shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    char read_buffer[HTTP_READ_BUFFER];
};

static http_parser_settings parser_settings;
static void conn_process(http_conn *c);
static void conn_close(http_conn *c);

/* ---- connection lifetime ---- */

static void on_server_handle_closed(uv_handle_t *h);

static void server_maybe_done(http_server *s) {
    if (!s->shutting_down || s->conns || !s->shutdown_done)
        return;
    if (!uv_is_closing((uv_handle_t *)&s->flusher)) {
        uv_close((uv_handle_t *)&s->flusher, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->preflush, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->sweeper, on_server_handle_closed);
        return;
    }
    if (s->handles_open > 0)
        return;
    void (*done)(void *) = s->shutdown_done;
    s->shutdown_done = NULL;
    done(s->shutdown_arg);
}

static void conn_unlink(http_conn *c) {
    http_server *s = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void conn_unflush(http_conn *c) {
    http_server *s = c->server;
    if (c->in_flush_list) {
        http_conn **p = &s->flush_list;
        while (*p != c)
            p = &(*p)->flush_next;
        *p = c->flush_next;
        c->in_flush_list = 0;
    }
}

static void request_free(http_request *req) {
    if (!req)
        return;
    buf_free(&req->head);
    buf_free(&req->body);
    if (req->json)
        json_decref(req->json);
    free(req);
}

/* Frees the connection once its handles are closed and no handler holds its request. */
static void conn_maybe_free(http_conn *c) {
    if (c->handles_open > 0 || (c->req && c->state == CONN_DISPATCHED))
        return;
    http_server *s = c->server;
    if (c->upgrade_ops) /* from the close callback: never inside the owner's own call stack */
        c->upgrade_ops->on_close(c->upgrade_ctx);
    conn_unlink(c);
    request_free(c->req);
    request_free(c->spare);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->writing);
    free(c);
    s->open_connections--;
    metrics.connections_open--;
    server_maybe_done(s);
}

static void on_conn_handle_closed(uv_handle_t *h) {
    http_conn *c = h->data;
    c->handles_open--;
    conn_maybe_free(c);
}

static void conn_close(http_conn *c) {
    if (c->closing)
        return;
    c->closing = 1;
    conn_unflush(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

int http_conn_is_closing(const http_conn *c) {
    return c->closing;
}

/* ---- deadlines: each connection has one, checked by the server's sweeper ---- */

static void conn_timed_out(http_conn *c) {
    enum metrics_limit which = LIMIT_IDLE_TIMEOUT;
    if (c->write_in_flight)
        which = LIMIT_WRITE_TIMEOUT;
    else if (c->req && !c->headers_done)
        which = LIMIT_HEADER_TIMEOUT;
    else if (c->req)
        which = LIMIT_BODY_TIMEOUT;
    if (c->state != CONN_LINGERING)
        metrics_limit_hit(which);
    conn_close(c);
}

/* How long the connection may stay in its current state; 0 = no limit. */
static uint64_t conn_timeout_ms(http_conn *c, uint64_t now) {
    if (c->write_in_flight)
        return HTTP_WRITE_TIMEOUT_MS;
    if (c->state == CONN_LINGERING)
        return HTTP_LINGER_MS;
    if (c->state != CONN_READING)
        return 0;
    if (!c->req)
        return HTTP_IDLE_TIMEOUT_MS;
    if (!c->headers_done) {
        uint64_t deadline = c->req->start_ns / 1000000 + HTTP_HEADER_TIMEOUT_MS;
        return deadline > now ? deadline - now : 1;
    }
    return HTTP_BODY_TIMEOUT_MS;
}

static void conn_arm_timer(http_conn *c) {
    if (c->closing || c->state == CONN_UPGRADED) /* the new protocol owns its deadline */
        return;
    uint64_t ms = conn_timeout_ms(c, uv_hrtime() / 1000000);
    c->deadline_ms = ms ? uv_now(c->server->loop) + ms : 0;
}

static void on_sweep(uv_timer_t *t) {
    http_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    http_conn *next;
    for (http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->closing || !c->deadline_ms || now < c->deadline_ms)
            continue;
        if (c->state == CONN_UPGRADED) {
            c->deadline_ms = 0;
            c->upgrade_ops->on_deadline(c->upgrade_ctx, now);
        } else {
            conn_timed_out(c);
        }
    }
}

/* ---- writing ---- */

static void conn_schedule_flush(http_conn *c) {
    if (c->in_flush_list || c->closing)
        return;
    c->in_flush_list = 1;
    c->flush_next = c->server->flush_list;
    c->server->flush_list = c;
}

buf *http_conn_output(http_conn *c) {
    if (c->closing)
        return NULL;
    conn_schedule_flush(c);
    return &c->out;
}

void http_conn_write(http_conn *c, const void *data, size_t len) {
    if (c->closing)
        return;
    buf_append(&c->out, data, len);
    conn_schedule_flush(c);
}

static void conn_update_reading(http_conn *c);

static void on_lingering_read_done(uv_shutdown_t *req, int status) {
    http_conn *c = req->data;
    if (status < 0)
        conn_close(c);
}

static void conn_after_write(http_conn *c) {
    if (c->after_write == AFTER_CLOSE) {
        conn_close(c);
    } else if (c->after_write == AFTER_LINGER) {
        c->state = CONN_LINGERING;
        c->shutdown_req.data = c;
        if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_lingering_read_done) != 0) {
            conn_close(c);
            return;
        }
        conn_update_reading(c); /* discard input until EOF, the byte cap or the linger time */
        conn_arm_timer(c);
    }
}

static void conn_flush(http_conn *c);

/* Everything queued so far has left: send more, close, or parse what waits. */
static void conn_write_completed(http_conn *c) {
    if (c->out.len > 0) {
        conn_flush(c);
    } else if (c->state == CONN_DRAINING) {
        conn_after_write(c);
    } else if (c->state == CONN_UPGRADED) {
        /* An idle upgraded connection keeps no buffer memory. */
        buf_free(&c->out);
        buf_free(&c->writing);
    } else {
        conn_process(c); /* output fell below the high-water mark: parse what waits */
    }
}

static void on_write_done(uv_write_t *w, int status) {
    http_conn *c = w->data;
    c->write_in_flight = 0;
    buf_reset(&c->writing);
    if (c->closing)
        return;
    if (status < 0)
        conn_close(c);
    else
        conn_write_completed(c);
}

/* Tries a direct write first (no request, no poll registration when the socket takes it all,
 * the common case); what is left goes out through uv_write. */
static void conn_flush(http_conn *c) {
    if (c->closing || c->write_in_flight || c->out.len == 0)
        return;
    if (c->out.failed) {
        conn_close(c); /* out of memory while queuing a reply */
        return;
    }
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    if (n == (int)c->out.len) {
        buf_reset(&c->out);
        conn_write_completed(c);
        return;
    }
    if (n > 0)
        buf_consume(&c->out, (size_t)n);
    buf tmp = c->writing;
    c->writing = c->out;
    c->out = tmp;
    b = uv_buf_init(c->writing.data, (unsigned)c->writing.len);
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write_done) != 0) {
        conn_close(c);
        return;
    }
    c->write_in_flight = 1;
    conn_arm_timer(c);
}

/* Sends what every connection queued: once after the I/O callbacks of a loop turn, and once
 * before the loop blocks in poll, so a reply made from a timer or a pending callback leaves
 * without waiting for the next wake-up. */
static void flush_all(http_server *s) {
    while (s->flush_list) {
        http_conn *c = s->flush_list;
        s->flush_list = c->flush_next;
        c->in_flush_list = 0;
        conn_flush(c);
    }
}

static void on_flush_check(uv_check_t *h) {
    flush_all(h->data);
}

static void on_flush_prepare(uv_prepare_t *h) {
    flush_all(h->data);
}

/* ---- requests ---- */

static void request_generate_id(http_request *req) {
    static uint64_t counter;
    static char prefix[9];
    if (!prefix[0]) {
        uint32_t r = (uint32_t)(uv_hrtime() ^ (uint64_t)getpid() << 16);
        snprintf(prefix, sizeof prefix, "%08x", r);
    }
    snprintf(req->request_id, sizeof req->request_id, "%s-%012llx", prefix,
             (unsigned long long)++counter);
}

/* Accepts a proxy's X-Request-Id when it is short and made of safe characters. */
static void request_set_id(http_request *req) {
    size_t len = 0;
    const char *v = http_request_header(req, "x-request-id", &len);
    int ok = v && len > 0 && len <= HTTP_REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = v[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '-' || ch == '_' || ch == '.';
    }
    if (ok) {
        memcpy(req->request_id, v, len);
        req->request_id[len] = '\0';
    } else {
        request_generate_id(req);
    }
}

const char *http_request_header(const http_request *req, const char *name, size_t *len) {
    size_t name_len = strlen(name);
    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header_ref *h = &req->headers[i];
        if (h->name_len == name_len &&
            strncasecmp(req->head.data + h->name_off, name, name_len) == 0) {
            if (len)
                *len = h->value_len;
            return req->head.data + h->value_off;
        }
    }
    return NULL;
}

/* Reuses the connection's spare request (keeping its buffers' memory) or allocates one. */
static http_request *request_new(http_conn *c) {
    http_request *req = c->spare;
    c->spare = NULL;
    if (req) {
        buf head = req->head, body = req->body;
        buf_reset(&head);
        buf_reset(&body);
        memset(req, 0, sizeof *req);
        req->head = head;
        req->body = body;
    } else if (!(req = calloc(1, sizeof *req))) {
        return NULL;
    }
    req->conn = c;
    req->start_ns = uv_hrtime();
    req->route_index = -1;
    return req;
}

/* ---- parser callbacks ---- */

static int parser_fail(http_conn *c, enum err_code code) {
    c->failed = 1;
    c->fail_code = code;
    metrics_limit_hit(code == ERR_PAYLOAD_TOO_LARGE ? LIMIT_BODY_BYTES : LIMIT_HEADER_BYTES);
    return -1;
}

static int count_head_bytes(http_conn *c, size_t len) {
    c->head_bytes += len;
    if (c->head_bytes > HTTP_MAX_HEADER_BYTES)
        return parser_fail(c, ERR_HEADERS_TOO_LARGE);
    return 0;
}

static int on_message_begin(http_parser *p) {
    http_conn *c = p->data;
    c->head_bytes = 0;
    c->headers_done = 0;
    c->last_was_value = 0;
    if (!c->req)
        c->req = request_new(c);
    return c->req ? 0 : -1;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    if (count_head_bytes(c, len) != 0)
        return -1;
    buf_append(&c->req->head, at, len);
    c->req->url_len += len; /* the URL is the start of head; split into path and query later */
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    http_request *req = c->req;
    if (count_head_bytes(c, len) != 0)
        return -1;
    if (req->header_count == 0 || c->last_was_value) {
        if (req->header_count == HTTP_MAX_HEADERS)
            return parser_fail(c, ERR_HEADERS_TOO_LARGE);
        struct http_header_ref *h = &req->headers[req->header_count++];
        h->name_off = (uint32_t)req->head.len;
        h->name_len = 0;
        h->value_off = 0;
        h->value_len = 0;
    }
    c->last_was_value = 0;
    req->headers[req->header_count - 1].name_len += (uint32_t)len;
    buf_append(&req->head, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    http_request *req = c->req;
    if (count_head_bytes(c, len) != 0)
        return -1;
    struct http_header_ref *h = &req->headers[req->header_count - 1];
    if (!c->last_was_value)
        h->value_off = (uint32_t)req->head.len;
    c->last_was_value = 1;
    h->value_len += (uint32_t)len;
    buf_append(&req->head, at, len);
    return 0;
}

static void request_split_url(http_request *req) {
    size_t url_len = req->url_len;
    const char *url = req->head.data ? req->head.data : "";
    const char *q = memchr(url, '?', url_len);
    const char *hash = memchr(url, '#', url_len);
    size_t end = hash ? (size_t)(hash - url) : url_len;
    req->path = url;
    req->path_len = q && (size_t)(q - url) < end ? (size_t)(q - url) : end;
    req->query = q && (size_t)(q - url) < end ? q + 1 : NULL;
    req->query_len = req->query ? end - (size_t)(req->query - url) : 0;
}

static void send_continue_if_expected(http_conn *c) {
    size_t len = 0;
    const char *v = http_request_header(c->req, "expect", &len);
    if (v && len == 12 && strncasecmp(v, "100-continue", 12) == 0)
        http_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static int on_headers_complete(http_parser *p) {
    http_conn *c = p->data;
    http_request *req = c->req;
    if (req->head.failed)
        return parser_fail(c, ERR_HEADERS_TOO_LARGE);
    c->headers_done = 1;
    req->method = (enum http_method)p->method;
    req->http_minor = p->http_minor;
    request_split_url(req);
    request_set_id(req);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > HTTP_MAX_BODY_BYTES)
        return parser_fail(c, ERR_PAYLOAD_TOO_LARGE);
    if (p->content_length > 0 && (p->flags & F_CONTENTLENGTH))
        send_continue_if_expected(c);
    conn_arm_timer(c);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    if (c->req->body.len + len > HTTP_MAX_BODY_BYTES)
        return parser_fail(c, ERR_PAYLOAD_TOO_LARGE);
    buf_append(&c->req->body, at, len);
    return c->req->body.failed ? -1 : 0;
}

static int on_message_complete(http_parser *p) {
    http_conn *c = p->data;
    c->req->keep_alive = http_should_keep_alive(p);
    http_parser_pause(p, 1);
    return 0;
}

/* ---- processing ---- */

/* Answers a request the parser refused, then shuts the write side and discards input for a
 * while, so the client reads the reply instead of a reset. */
static void conn_fail(http_conn *c, enum err_code code) {
    if (!c->req)
        c->req = request_new(c);
    if (!c->req) {
        conn_close(c);
        return;
    }
    if (!c->headers_done)
        request_generate_id(c->req);
    c->req->keep_alive = 0;
    c->req->method = HTTP_GET;
    c->state = CONN_DISPATCHED;
    c->after_write = AFTER_LINGER;
    http_reply_error(c->req, code, NULL);
}

static void conn_dispatch(http_conn *c) {
    http_parser_pause(&c->parser, 0);
    c->state = CONN_DISPATCHED;
    c->headers_done = 0;
    c->deadline_ms = 0;
    c->server->opt.dispatch(c->req, c->server->opt.dispatch_ctx);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);

/* Reads only while a new request may be parsed (or while lingering), so a slow handler or a
 * client that does not read its replies stops the input instead of growing the buffers. */
static void conn_update_reading(http_conn *c) {
    int want = !c->peer_eof && (c->state == CONN_LINGERING || c->state == CONN_UPGRADED ||
                                (c->state == CONN_READING && c->out.len < HTTP_OUTPUT_HIGH_WATER));
    if (want && !c->reading)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = want;
}

/* Bytes that arrived behind the upgrade request belong to the new protocol. */
static void conn_deliver_upgraded_input(http_conn *c) {
    buf pending = c->in;
    memset(&c->in, 0, sizeof c->in);
    if (pending.len > 0)
        c->upgrade_ops->on_data(c->upgrade_ctx, pending.data, pending.len);
    buf_free(&pending);
    if (!c->closing)
        conn_update_reading(c);
}

static void conn_process(http_conn *c) {
    if (c->processing || c->closing)
        return;
    c->processing = 1;
    while (c->state == CONN_READING && c->in.len > 0 && c->out.len < HTTP_OUTPUT_HIGH_WATER) {
        size_t n = http_parser_execute(&c->parser, &parser_settings, c->in.data, c->in.len);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (err == HPE_PAUSED) {
            buf_consume(&c->in, n);
            conn_dispatch(c);
        } else if (err != HPE_OK || c->failed) {
            conn_fail(c, c->failed ? c->fail_code : ERR_BAD_REQUEST);
        } else {
            buf_consume(&c->in, n);
        }
    }
    c->processing = 0;
    if (c->closing)
        return;
    if (c->state == CONN_UPGRADED) {
        conn_deliver_upgraded_input(c);
        return;
    }
    /* After EOF, a connection with no complete request left and nothing to write is done. */
    if (c->peer_eof && c->state == CONN_READING && c->out.len == 0 && !c->write_in_flight) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
    conn_arm_timer(c);
}

/* One debug line per request: never the query string (it may carry codes) nor any header. */
static void request_log(const http_request *req, int status, uint64_t duration_ns) {
    if (!log_enabled(LOG_DEBUG))
        return;
    char path[256], status_s[8], micros[24];
    size_t n = req->path ? req->path_len : 0;
    if (n > sizeof path - 1)
        n = sizeof path - 1;
    memcpy(path, req->path ? req->path : "", n);
    path[n] = '\0';
    snprintf(status_s, sizeof status_s, "%d", status);
    snprintf(micros, sizeof micros, "%llu", (unsigned long long)(duration_ns / 1000));
    log_debug("request", "method", http_method_str(req->method), "path", path, "status", status_s,
              "us", micros, "requestId", req->request_id);
}

void http_request_finish(http_request *req, int status) {
    http_conn *c = req->conn;
    uint64_t duration_ns = uv_hrtime() - req->start_ns;
    metrics_request_done(req->route_index, status, duration_ns);
    request_log(req, status, duration_ns);
    int keep = req->keep_alive && !c->server->shutting_down && !(c->peer_eof && c->in.len == 0);
    if (req->json)
        json_decref(req->json);
    req->json = NULL;
    if (c->spare || req->head.cap + req->body.cap > HTTP_SPARE_REQUEST_MAX_BYTES)
        request_free(req);
    else
        c->spare = req;
    c->req = NULL;
    if (c->closing) {
        c->state = CONN_READING;
        conn_maybe_free(c);
        return;
    }
    if (c->state == CONN_DISPATCHED && keep) {
        c->state = CONN_READING;
        conn_process(c);
        return;
    }
    c->state = CONN_DRAINING;
    /* Closing with input still unread would make the kernel answer it with a reset that can
     * destroy replies the client has not read yet: shut the write side and drain instead. */
    if (c->after_write == AFTER_NOTHING)
        c->after_write = c->peer_eof ? AFTER_CLOSE : AFTER_LINGER;
    conn_update_reading(c);
    c->deadline_ms = 0;
    if (!c->write_in_flight && c->out.len == 0)
        conn_after_write(c);
}

int http_request_will_close(const http_request *req) {
    const http_conn *c = req->conn;
    return !req->keep_alive || c->server->shutting_down || c->failed ||
           (c->peer_eof && c->in.len == 0);
}

void http_request_peer_ip(const http_request *req, char *out, size_t outlen) {
    struct sockaddr_storage addr;
    int len = sizeof addr;
    out[0] = '\0';
    if (uv_tcp_getpeername(&req->conn->tcp, (struct sockaddr *)&addr, &len) != 0)
        return;
    if (addr.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&addr, out, outlen);
    else
        uv_ip4_name((struct sockaddr_in *)&addr, out, outlen);
}

/* ---- upgrade (WebSocket) ---- */

int http_upgrade(http_request *req, const char *head, size_t head_len,
                 const struct http_upgrade_ops *ops, void *ctx, http_conn **out) {
    http_conn *c = req->conn;
    if (c->closing || c->server->shutting_down || req->replied)
        return -1;
    req->replied = 1;
    http_conn_write(c, head, head_len);
    metrics_request_done(req->route_index, 101, uv_hrtime() - req->start_ns);
    request_log(req, 101, uv_hrtime() - req->start_ns);
    request_free(req);
    request_free(c->spare);
    c->req = c->spare = NULL;
    c->state = CONN_UPGRADED;
    c->upgrade_ops = ops;
    c->upgrade_ctx = ctx;
    c->deadline_ms = 0;
    *out = c;
    return 0;
}

void http_conn_set_deadline(http_conn *c, uint64_t deadline_ms) {
    c->deadline_ms = deadline_ms;
}

uint64_t http_conn_now(const http_conn *c) {
    return uv_now(c->server->loop);
}

size_t http_conn_output_pending(const http_conn *c) {
    return c->out.len + c->writing.len;
}

void http_conn_close_after_write(http_conn *c) {
    if (c->closing || c->state == CONN_DRAINING)
        return;
    c->state = CONN_DRAINING;
    c->after_write = c->peer_eof ? AFTER_CLOSE : AFTER_LINGER;
    conn_update_reading(c);
    if (!c->write_in_flight && c->out.len == 0)
        conn_after_write(c);
}

void http_conn_abort(http_conn *c) {
    conn_close(c);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    http_conn *c = h->data;
    (void)suggested;
    *b = uv_buf_init(c->server->read_buffer, sizeof c->server->read_buffer);
}

/* The client has sent everything it will send. Requests already received are still answered
 * (their replies written in full); the connection closes once nothing is left to answer. */
static void conn_on_eof(http_conn *c) {
    c->peer_eof = 1;
    if (c->state == CONN_LINGERING || c->state == CONN_UPGRADED)
        conn_close(c);
    else
        conn_process(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b) {
    http_conn *c = stream->data;
    if (nread == UV_EOF) {
        conn_on_eof(c);
        return;
    }
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->state == CONN_UPGRADED) {
        c->upgrade_ops->on_data(c->upgrade_ctx, b->base, (size_t)nread);
        return;
    }
    if (c->state == CONN_LINGERING) {
        c->lingered_bytes += (size_t)nread;
        if (c->lingered_bytes > HTTP_LINGER_MAX_BYTES)
            conn_close(c);
        return;
    }
    buf_append(&c->in, b->base, (size_t)nread);
    if (c->in.failed) {
        conn_close(c);
        return;
    }
    conn_process(c);
}

/* ---- accepting ---- */

static void on_connection(uv_stream_t *listener, int status) {
    http_server *s = listener->data;
    if (status < 0 || s->shutting_down)
        return;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->server = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->handles_open = 1;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->open_connections++;
    metrics.connections_open++;
    metrics.connections_total++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->open_connections > s->opt.max_connections) {
        metrics_limit_hit(LIMIT_CONNECTIONS);
        conn_fail(c, ERR_UNAVAILABLE);
        return;
    }
    conn_process(c);
}

/* ---- server ---- */

static void init_parser_settings(void) {
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;
}

static int server_bind(http_server *s) {
    struct sockaddr_storage addr;
    int rc = strchr(s->opt.host, ':')
                 ? uv_ip6_addr(s->opt.host, s->opt.port, (struct sockaddr_in6 *)&addr)
                 : uv_ip4_addr(s->opt.host, s->opt.port, (struct sockaddr_in *)&addr);
    if (rc == 0)
        rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    return rc;
}

static void on_server_handle_closed(uv_handle_t *h) {
    http_server *s = h->data;
    s->handles_open--;
    server_maybe_done(s);
}

int http_server_start(uv_loop_t *loop, const struct http_server_options *opt, http_server **out) {
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return UV_ENOMEM;
    init_parser_settings();
    s->loop = loop;
    s->opt = *opt;
    if (s->opt.max_connections <= 0)
        s->opt.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    uv_tcp_init(loop, &s->listener);
    uv_check_init(loop, &s->flusher);
    uv_prepare_init(loop, &s->preflush);
    uv_timer_init(loop, &s->sweeper);
    s->listener.data = s->flusher.data = s->preflush.data = s->sweeper.data = s;
    s->handles_open = 4;
    uv_check_start(&s->flusher, on_flush_check);
    uv_unref((uv_handle_t *)&s->flusher);
    uv_prepare_start(&s->preflush, on_flush_prepare);
    uv_unref((uv_handle_t *)&s->preflush);
    uv_timer_start(&s->sweeper, on_sweep, HTTP_SWEEP_INTERVAL_MS, HTTP_SWEEP_INTERVAL_MS);
    uv_unref((uv_handle_t *)&s->sweeper);
    int rc = server_bind(s);
    if (rc != 0) {
        s->shutting_down = 1;
        uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->flusher, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->preflush, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->sweeper, on_server_handle_closed);
        uv_run(loop, UV_RUN_NOWAIT); /* runs the close callbacks; no connection exists yet */
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int http_server_address(http_server *s, char *out, size_t outlen) {
    struct sockaddr_storage addr;
    int len = sizeof addr;
    char ip[64];
    int rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
    if (rc != 0)
        return rc;
    if (addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
        uv_ip6_name(a6, ip, sizeof ip);
        snprintf(out, outlen, "[%s]:%d", ip, ntohs(a6->sin6_port));
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
        uv_ip4_name(a4, ip, sizeof ip);
        snprintf(out, outlen, "%s:%d", ip, ntohs(a4->sin_port));
    }
    return 0;
}

int http_server_open_connections(const http_server *s) {
    return s->open_connections;
}

/* Idle connections close now; one with a request arriving or with a handler, or with replies
 * still being written, closes after its current reply (no keep-alive past this point). */
void http_server_shutdown(http_server *s, void (*done)(void *arg), void *arg) {
    s->shutting_down = 1;
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
    http_conn *next;
    for (http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->state == CONN_UPGRADED && !c->closing)
            c->upgrade_ops->on_shutdown(c->upgrade_ctx);
        else if (c->state == CONN_READING && !c->req && c->in.len == 0 && !c->write_in_flight &&
                 c->out.len == 0)
            conn_close(c);
    }
    server_maybe_done(s);
}

void http_server_force_close(http_server *s) {
    for (http_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    server_maybe_done(s);
}

void http_server_free(http_server *s) {
    free(s);
}
