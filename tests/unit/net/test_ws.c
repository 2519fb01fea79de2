/* test_ws.c — tests of net/ws.c through a real http_server on 127.0.0.1 whose dispatch calls
 * ws_accept for GET /ws, and a libuv TCP client in the same loop that does the handshake by hand
 * and writes masked frames built by a small encoder (RFC 6455). Covers the 101 handshake and bad
 * handshakes (400, 503 during shutdown), text messages (whole, one byte per write, fragmented),
 * server text, corking, ping/pong, close handshakes and close codes (1002 for protocol errors,
 * 1003, 1007, 1009, 4401), owner deadlines (also across a partial write), server shutdown
 * (on_shutdown → 1001) and the output hard limit. Every wait is bounded by a uv_timer guard;
 * every test ends with http_server_shutdown, on_close fired once per WebSocket and
 * uv_loop_close() == 0.
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
#include <sys/socket.h>
#include <uv.h>

#include "limits.h"
#include "net/http.h"
#include "net/http_reply.h"
#include "net/ws.h"
#include "http_client.h"
#include "util/buf.h"

#define MAX_SESSIONS    8
#define MAX_FRAMES      64
#define MAX_TEXTS       16
#define SHORT_DEADLINE  20          /* ms: the owner deadline of the deadline test */
#define FLOOD_MSG_BYTES (64 * 1024) /* one message of the output-limit tests */
#define FLOOD_MAX_MSGS  1024        /* bound of the output-limit tests: 64 MiB */
#define RFC_KEY         "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xa
};

struct frame {
    int fin, opcode;
    char *data; /* NUL-terminated */
    size_t len;
    size_t read_no; /* the client read in which the frame's last byte arrived */
};

/* A WebSocket client: the harness's client plus what its on_data parsed. */
struct client {
    struct tc_client tc; /* first: on_data casts back */
    int bad;             /* malformed server output */
    int have_response;   /* the HTTP response (101 or an error) is in */
    int status;
    char *head; /* status line and headers, NUL-terminated */
    char *body;
    size_t body_len;
    int upgraded; /* 101 seen: what follows are frames */
    struct frame frames[MAX_FRAMES];
    size_t frame_count;
    size_t want;
};

struct fixture;

/* The server side of one WebSocket: what the test handlers saw. */
struct session {
    struct fixture *f;
    ws_conn *ws; /* NULL once on_close fired */
    buf texts[MAX_TEXTS];
    size_t text_count;
    size_t want; /* texts a wait is for */
    int overflow;
    int deadlines, shutdowns, closes;
    uint64_t deadline_now; /* now_ms given to on_deadline */
    int close_on_deadline; /* on_deadline closes with 4408 */
    int close_rc_closing;  /* ws_is_closing right after ws_close (close4401 command) */
    int late_send_rc;      /* ws_send_text right after ws_close */
    int flood_rc;
    size_t flood_sent;
};

struct fixture {
    struct tc_harness h;
    struct client clients[TC_MAX_CLIENTS];
    size_t client_count;
    struct session sessions[MAX_SESSIONS];
    size_t session_count;
    int rejected; /* handshakes ws_accept refused */
};

/* ---- bounded waiting ---- */

static int cond_response(const void *arg) {
    const struct client *c = arg;
    return c->have_response || c->tc.eof;
}

static int cond_frames(const void *arg) {
    const struct client *c = arg;
    return c->frame_count >= c->want || c->tc.eof;
}

static int cond_session_closed(const void *arg) {
    return ((const struct session *)arg)->closes > 0;
}

static int cond_texts(const void *arg) {
    const struct session *s = arg;
    return s->text_count >= s->want || s->closes > 0;
}

static int cond_deadline(const void *arg) {
    const struct session *s = arg;
    return s->deadlines > 0 || s->closes > 0;
}

/* ---- what the client reads: one HTTP response, then server frames ---- */

/* Moves the HTTP response from c->tc.in to c->head/body; 0 while incomplete. */
static int client_parse_response(struct client *c) {
    const char *data = c->tc.in.data;
    const char *end = data ? memmem(data, c->tc.in.len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return 0;
    size_t head_len = (size_t)(end - data);
    if (sscanf(data, "HTTP/1.1 %3d ", &c->status) != 1) {
        c->bad = 1;
        return 0;
    }
    char cl[32];
    size_t body_len = 0;
    char *head = strndup(data, head_len);
    if (c->status != 101 && tc_header_get(head, "content-length", cl, sizeof cl))
        body_len = strtoul(cl, NULL, 10);
    if (c->tc.in.len < head_len + 4 + body_len) {
        free(head);
        return 0;
    }
    c->head = head;
    c->body = strndup(data + head_len + 4, body_len);
    c->body_len = body_len;
    c->have_response = 1;
    c->upgraded = c->status == 101;
    buf_consume(&c->tc.in, head_len + 4 + body_len);
    return 1;
}

/* Moves one complete server frame from c->tc.in to c->frames; 0 while incomplete. Server frames
 * must be unmasked with RSV bits clear. */
static int client_parse_frame(struct client *c) {
    const unsigned char *p = (const unsigned char *)c->tc.in.data;
    size_t n = c->tc.in.len, off = 2;
    if (!p || n < 2)
        return 0;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        off = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        off = 10;
    }
    if ((p[1] & 0x80) || (p[0] & 0x70))
        c->bad = 1;
    if (p[1] & 0x80)
        off += 4;
    if (n < off || n - off < len)
        return 0;
    if (c->frame_count == MAX_FRAMES) {
        c->bad = 1;
        return 0;
    }
    struct frame *fr = &c->frames[c->frame_count++];
    fr->fin = p[0] >> 7;
    fr->opcode = p[0] & 0x0f;
    fr->data = strndup((const char *)p + off, (size_t)len);
    fr->len = (size_t)len;
    fr->read_no = c->tc.reads;
    buf_consume(&c->tc.in, off + (size_t)len);
    return 1;
}

/* The status code of a close frame; 0 when it has none. */
static int close_code(const struct frame *fr) {
    if (fr->opcode != OP_CLOSE || fr->len < 2)
        return 0;
    return (unsigned char)fr->data[0] << 8 | (unsigned char)fr->data[1];
}

static void client_clear(struct client *c) {
    for (size_t i = 0; i < c->frame_count; i++)
        free(c->frames[i].data);
    c->frame_count = 0;
    free(c->head);
    free(c->body);
    c->head = c->body = NULL;
}

/* ---- the client ---- */

/* on_data: the HTTP response first, then frames once it was a 101. */
static void client_on_data(struct tc_client *tc) {
    struct client *c = (struct client *)tc;
    if (!c->have_response && !client_parse_response(c))
        return;
    if (c->upgraded)
        while (client_parse_frame(c))
            ;
}

/* Connects a new client to the server and starts reading; rcvbuf > 0 shrinks the client's
 * receive buffer (set before connecting) so that large server writes cannot leave at once. */
static struct client *client_open_rcvbuf(struct fixture *f, int rcvbuf) {
    assert_true(f->client_count < TC_MAX_CLIENTS);
    struct client *c = &f->clients[f->client_count++];
    c->tc.on_data = client_on_data;
    tc_client_open_in(&f->h, &c->tc, rcvbuf);
    return c;
}

static struct client *client_open(struct fixture *f) {
    return client_open_rcvbuf(f, 0);
}

/* The server's end of c's connection (both ends live in this process): the descriptor whose
 * peer is c's local address; -1 when not found. */
static int server_fd_of(struct client *c) {
    struct sockaddr_storage mine, peer;
    socklen_t mine_len = sizeof mine;
    uv_os_fd_t cfd;
    if (uv_fileno((uv_handle_t *)&c->tc.tcp, &cfd) != 0 ||
        getsockname(cfd, (struct sockaddr *)&mine, &mine_len) != 0)
        return -1;
    for (int fd = 3; fd < 4096; fd++) {
        socklen_t peer_len = sizeof peer;
        if (fd != cfd && getpeername(fd, (struct sockaddr *)&peer, &peer_len) == 0 &&
            peer_len == mine_len && memcmp(&peer, &mine, mine_len) == 0)
            return fd;
    }
    return -1;
}

/* Waits until the client holds n frames (or the server closed); returns the count. */
static size_t client_wait_frames(struct client *c, size_t n) {
    c->want = n;
    tc_wait_for(c->tc.h, cond_frames, c, TC_WAIT_MS);
    assert_false(c->bad);
    return c->frame_count;
}

/* ---- frames as a client writes them ---- */

static const unsigned char mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends one frame: masked as a client must, or unmasked to break the rule. */
static void frame_encode(buf *out, int fin, int opcode, int masked, const void *payload,
                         size_t len) {
    unsigned char h[14];
    size_t n = 0;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    unsigned char m = masked ? 0x80 : 0;
    if (len < 126) {
        h[n++] = (unsigned char)(m | len);
    } else if (len <= 0xffff) {
        h[n++] = m | 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(h + n, mask_key, 4);
        n += 4;
    }
    buf_append(out, h, n);
    const unsigned char *p = payload;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = masked ? p[i] ^ mask_key[i % 4] : p[i];
        buf_append(out, &b, 1);
    }
}

static void send_frame(struct client *c, int fin, int opcode, const void *payload, size_t len) {
    buf b = {0};
    frame_encode(&b, fin, opcode, 1, payload, len);
    assert_false(b.failed);
    tc_client_send(&c->tc, b.data, b.len);
    buf_free(&b);
}

static void send_text(struct client *c, const char *s) {
    send_frame(c, 1, OP_TEXT, s, strlen(s));
}

/* A close frame with a status code and a reason. */
static void send_close(struct client *c, int code, const char *reason) {
    char payload[125];
    size_t n = strlen(reason);
    payload[0] = (char)(code >> 8);
    payload[1] = (char)code;
    memcpy(payload + 2, reason, n);
    send_frame(c, 1, OP_CLOSE, payload, n + 2);
}

/* ---- the server under test ---- */

static int text_is(const char *data, size_t len, const char *cmd) {
    return len == strlen(cmd) && memcmp(data, cmd, len) == 0;
}

/* Queues FLOOD_MSG_BYTES messages until ws_send_text refuses (the connection was dropped). */
static void flood(struct session *s) {
    char *chunk = malloc(FLOOD_MSG_BYTES);
    if (!chunk)
        return;
    memset(chunk, 'f', FLOOD_MSG_BYTES);
    s->flood_rc = 0;
    while (s->flood_rc == 0 && s->flood_sent < FLOOD_MAX_MSGS) {
        s->flood_rc = ws_send_text(s->ws, chunk, FLOOD_MSG_BYTES);
        s->flood_sent++;
    }
    free(chunk);
}

/* Records every message; some are commands: "echo:X" sends X back, "two" sends two messages,
 * "close4401" closes with 4401, "closelong" closes with a 200-byte reason, "flood" overflows the
 * output, "deadline" sets a short deadline. */
static void on_ws_text(void *ctx, const char *data, size_t len) {
    struct session *s = ctx;
    if (s->text_count == MAX_TEXTS) {
        s->overflow = 1;
        return;
    }
    buf_append(&s->texts[s->text_count++], data, len);
    if (len >= 5 && memcmp(data, "echo:", 5) == 0) {
        ws_send_text(s->ws, data + 5, len - 5);
    } else if (text_is(data, len, "two")) {
        ws_send_text(s->ws, "first", 5);
        ws_send_text(s->ws, "second", 6);
    } else if (text_is(data, len, "close4401")) {
        ws_close(s->ws, 4401, "x");
        s->close_rc_closing = ws_is_closing(s->ws);
        s->late_send_rc = ws_send_text(s->ws, "late", 4);
        ws_close(s->ws, 1000, "twice"); /* a second close is ignored */
    } else if (text_is(data, len, "closelong")) {
        char reason[201];
        memset(reason, 'r', 200);
        reason[200] = '\0';
        ws_close(s->ws, 4000, reason);
    } else if (text_is(data, len, "flood")) {
        flood(s);
    } else if (text_is(data, len, "deadline")) {
        ws_set_deadline(s->ws, ws_now(s->ws) + SHORT_DEADLINE);
    }
}

static void on_ws_deadline(void *ctx, uint64_t now_ms) {
    struct session *s = ctx;
    s->deadlines++;
    s->deadline_now = now_ms;
    if (s->close_on_deadline)
        ws_close(s->ws, 4408, "timeout");
}

static void on_ws_shutdown(void *ctx) {
    struct session *s = ctx;
    s->shutdowns++;
    ws_close(s->ws, 1001, "going away");
}

static void on_ws_close(void *ctx) {
    struct session *s = ctx;
    s->closes++;
    s->ws = NULL;
}

static const struct ws_handlers test_handlers = {
    .on_text = on_ws_text,
    .on_deadline = on_ws_deadline,
    .on_shutdown = on_ws_shutdown,
    .on_close = on_ws_close,
};

static int path_is(const http_request *req, const char *path) {
    return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

/* GET /ws is a WebSocket with a fresh session; anything else 404. */
static void test_dispatch(http_request *req, void *ctx) {
    struct fixture *f = ctx;
    if (!path_is(req, "/ws")) {
        http_reply_error(req, ERR_NOT_FOUND, NULL);
        return;
    }
    if (f->session_count == MAX_SESSIONS) {
        http_reply_error(req, ERR_UNAVAILABLE, NULL);
        return;
    }
    struct session *s = &f->sessions[f->session_count];
    s->f = f;
    s->ws = ws_accept(req, &test_handlers, s);
    if (s->ws)
        f->session_count++;
    else
        f->rejected++;
}

static void server_start(struct fixture *f) {
    struct http_server_options opt = {
        .host = "127.0.0.1", .port = 0, .dispatch = test_dispatch, .dispatch_ctx = f};
    tc_server_start(&f->h, &opt);
}

/* The end of every test: graceful shutdown, on_close exactly once per WebSocket, every handle
 * closed, uv_loop_close() == 0. */
static void finish(struct fixture *f) {
    tc_finish_server(&f->h);
    for (size_t i = 0; i < f->session_count; i++) {
        assert_int_equal(f->sessions[i].closes, 1);
        assert_false(f->sessions[i].overflow);
    }
    tc_finish_loop(&f->h);
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || tc_harness_init(&f->h) != 0)
        return -1;
    *state = f;
    return 0;
}

/* After a failed test: close what is left as well as possible; leak rather than free memory a
 * live handle still points to. */
static int teardown(void **state) {
    struct fixture *f = *state;
    if (tc_harness_teardown(&f->h) != 0)
        return -1;
    for (size_t i = 0; i < f->client_count; i++)
        client_clear(&f->clients[i]);
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        for (size_t j = 0; j < MAX_TEXTS; j++)
            buf_free(&f->sessions[i].texts[j]);
    free(f);
    return 0;
}

/* ---- handshakes ---- */

/* An upgrade request; a NULL header is left out. */
static void handshake_request(buf *out, const char *method, const char *upgrade,
                              const char *connection, const char *key, const char *version,
                              const char *extra) {
    buf_append_printf(out, "%s /ws HTTP/1.1\r\nHost: t\r\n", method);
    if (upgrade)
        buf_append_printf(out, "Upgrade: %s\r\n", upgrade);
    if (connection)
        buf_append_printf(out, "Connection: %s\r\n", connection);
    if (key)
        buf_append_printf(out, "Sec-WebSocket-Key: %s\r\n", key);
    if (version)
        buf_append_printf(out, "Sec-WebSocket-Version: %s\r\n", version);
    if (strcmp(method, "POST") == 0)
        buf_append_cstr(out, "Content-Length: 0\r\n");
    buf_append_cstr(out, extra ? extra : "");
    buf_append_cstr(out, "\r\n");
}

static void assert_header(const struct client *c, const char *name, const char *want) {
    char v[128] = "";
    if (!tc_header_get(c->head, name, v, sizeof v))
        fail_msg("no %s header in:\n%s", name, c->head);
    assert_string_equal(v, want);
}

/* Checks the 101 response of the RFC example key. */
static void assert_switched(const struct client *c) {
    assert_true(c->have_response);
    assert_int_equal(c->status, 101);
    assert_header(c, "upgrade", "websocket");
    assert_header(c, "connection", "Upgrade");
    assert_header(c, "sec-websocket-accept", RFC_ACCEPT);
    char rid[128] = "";
    assert_true(tc_header_get(c->head, "x-request-id", rid, sizeof rid));
    assert_true(rid[0] != '\0');
}

/* Sends the handshake (plus tail, raw bytes in the same write) and waits for 101. */
static struct client *ws_connect_with(struct fixture *f, const char *extra, const buf *tail,
                                      int rcvbuf) {
    struct client *c = client_open_rcvbuf(f, rcvbuf);
    buf req = {0};
    handshake_request(&req, "GET", "websocket", "Upgrade", RFC_KEY, "13", extra);
    if (tail)
        buf_append(&req, tail->data, tail->len);
    tc_client_send(&c->tc, req.data, req.len);
    buf_free(&req);
    assert_true(tc_wait_for(&f->h, cond_response, c, TC_WAIT_MS));
    assert_false(c->bad);
    assert_switched(c);
    return c;
}

/* Connects a WebSocket; *s is its server side. */
static struct client *ws_connect(struct fixture *f, struct session **s) {
    size_t before = f->session_count;
    struct client *c = ws_connect_with(f, NULL, NULL, 0);
    assert_int_equal(f->session_count, before + 1);
    *s = &f->sessions[before];
    return c;
}

/* Waits until the session holds n texts (or closed). */
static void wait_texts(struct session *s, size_t n) {
    s->want = n;
    assert_true(tc_wait_for(&s->f->h, cond_texts, s, TC_WAIT_MS));
    assert_int_equal(s->closes, 0);
    assert_int_equal(s->text_count, n);
}

static void assert_text(const struct session *s, size_t i, const void *data, size_t len) {
    assert_true(i < s->text_count);
    assert_int_equal(s->texts[i].len, len);
    if (len)
        assert_memory_equal(s->texts[i].data, data, len);
}

/* Waits for EOF; the last frame must be a close with code (0 = no close frame required). */
static void expect_closed_with(struct client *c, int code) {
    assert_true(tc_wait_for(c->tc.h, tc_cond_eof, &c->tc, TC_WAIT_MS));
    assert_false(c->bad);
    assert_int_equal(c->tc.in.len, 0);
    if (code) {
        assert_true(c->frame_count > 0);
        const struct frame *last = &c->frames[c->frame_count - 1];
        assert_int_equal(last->opcode, OP_CLOSE);
        assert_int_equal(close_code(last), code);
    }
}

static void wait_session_closed(struct session *s) {
    assert_true(tc_wait_for(&s->f->h, cond_session_closed, s, TC_SHUTDOWN_WAIT_MS));
    assert_int_equal(s->closes, 1);
}

/* ---- tests: handshake ---- */

static void test_accept_key_rfc_example(void **state) {
    (void)state;
    char out[29];
    ws_accept_key(RFC_KEY, strlen(RFC_KEY), out);
    assert_string_equal(out, RFC_ACCEPT);
}

/* 101 with Upgrade, Connection, the RFC accept value and the request's X-Request-Id; no handler
 * fires on an idle connection. */
static void test_handshake_101(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = ws_connect_with(f, "X-Request-Id: ws-req-7\r\n", NULL, 0);
    assert_header(c, "x-request-id", "ws-req-7");
    assert_int_equal(f->session_count, 1);
    tc_wait_for(&f->h, tc_cond_never, NULL, 50);
    struct session *s = &f->sessions[0];
    assert_int_equal(s->text_count + s->deadlines + s->shutdowns + s->closes, 0);
    assert_int_equal(c->frame_count, 0);
    assert_false(c->tc.eof);
    finish(f);
}

/* Header tokens are case-insensitive and Connection may list several. */
static void test_handshake_token_lists(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    buf req = {0};
    handshake_request(&req, "GET", "WebSocket", "keep-alive, Upgrade", RFC_KEY, "13", NULL);
    tc_client_send(&c->tc, req.data, req.len);
    buf_free(&req);
    assert_true(tc_wait_for(&f->h, cond_response, c, TC_WAIT_MS));
    assert_switched(c);
    finish(f);
}

struct bad_handshake {
    const char *what, *method, *upgrade, *connection, *key, *version;
    int wants_version_header;
};

/* One bad handshake on a fresh connection: 400 in the §3.1 JSON shape, no session. */
static void check_bad_handshake(struct fixture *f, const struct bad_handshake *b) {
    struct client *c = client_open(f);
    buf req = {0};
    handshake_request(&req, b->method, b->upgrade, b->connection, b->key, b->version, NULL);
    tc_client_send(&c->tc, req.data, req.len);
    buf_free(&req);
    assert_true(tc_wait_for(&f->h, cond_response, c, TC_WAIT_MS));
    if (!c->have_response || c->status != 400)
        fail_msg("%s: expected 400, got %d", b->what, c->status);
    char ct[128] = "", rid[128] = "", v[16] = "";
    assert_true(tc_header_get(c->head, "content-type", ct, sizeof ct));
    assert_non_null(strstr(ct, "application/json"));
    assert_true(tc_header_get(c->head, "x-request-id", rid, sizeof rid));
    json_error_t jerr;
    json_t *doc = json_loadb(c->body, c->body_len, 0, &jerr);
    if (!doc)
        fail_msg("%s: error body is not JSON: %s", b->what, c->body);
    json_t *err = json_object_get(doc, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *body_rid = json_string_value(json_object_get(err, "requestId"));
    int ok = code && strcmp(code, "BAD_REQUEST") == 0 && msg && msg[0] && body_rid &&
             strcmp(body_rid, rid) == 0;
    json_decref(doc);
    if (!ok)
        fail_msg("%s: not a BAD_REQUEST error with requestId %s: %s", b->what, rid, c->body);
    if (b->wants_version_header) {
        assert_true(tc_header_get(c->head, "sec-websocket-version", v, sizeof v));
        assert_string_equal(v, "13");
    }
    assert_int_equal(f->session_count, 0);
    tc_client_close(&c->tc);
}

static void test_bad_handshakes_400(void **state) {
    struct fixture *f = *state;
    static const struct bad_handshake cases[] = {
        {"missing key", "GET", "websocket", "Upgrade", NULL, "13", 0},
        {"short key", "GET", "websocket", "Upgrade", "dGhlIHNhbXBsZQ==", "13", 0},
        {"long key", "GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==AAAA", "13", 0},
        {"Upgrade missing", "GET", NULL, "Upgrade", RFC_KEY, "13", 0},
        {"Upgrade: h2c", "GET", "h2c", "Upgrade", RFC_KEY, "13", 0},
        {"Connection without upgrade", "GET", "websocket", "keep-alive", RFC_KEY, "13", 0},
        {"POST", "POST", "websocket", "Upgrade", RFC_KEY, "13", 0},
        {"version 12", "GET", "websocket", "Upgrade", RFC_KEY, "12", 1},
        {"version missing", "GET", "websocket", "Upgrade", RFC_KEY, NULL, 0},
    };
    server_start(f);
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        check_bad_handshake(f, &cases[i]);
    assert_int_equal(f->rejected, (int)n);
    finish(f);
}

/* RFC 6455 §4.2.1: the key must base64-decode to 16 bytes; 24 characters ending in "==" that
 * are not base64 are not a valid key. */
static void test_bad_handshake_key_not_base64(void **state) {
    struct fixture *f = *state;
    static const struct bad_handshake b = {
        "key not base64", "GET", "websocket", "Upgrade", "!!!!!!!!!!!!!!!!!!!!!!==", "13", 0};
    server_start(f);
    check_bad_handshake(f, &b);
    finish(f);
}

/* A frame written right behind the handshake, in the same write, belongs to the WebSocket. */
static void test_frame_behind_handshake(void **state) {
    struct fixture *f = *state;
    server_start(f);
    buf tail = {0};
    frame_encode(&tail, 1, OP_TEXT, 1, "early", 5);
    ws_connect_with(f, NULL, &tail, 0);
    buf_free(&tail);
    struct session *s = &f->sessions[0];
    wait_texts(s, 1);
    assert_text(s, 0, "early", 5);
    finish(f);
}

/* ---- tests: messages in ---- */

/* Messages of every length encoding up to the limit arrive intact, in order. */
static void test_text_reaches_on_text(void **state) {
    struct fixture *f = *state;
    static const size_t lengths[] = {
        0, 1, 125, 126, 1000, WS_MAX_MESSAGE_BYTES - 1, WS_MAX_MESSAGE_BYTES};
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_text(c, "hello, world");
    wait_texts(s, 1);
    assert_text(s, 0, "hello, world", 12);
    char *msg = malloc(WS_MAX_MESSAGE_BYTES);
    assert_non_null(msg);
    for (size_t i = 0; i < WS_MAX_MESSAGE_BYTES; i++)
        msg[i] = (char)('a' + i % 26);
    size_t n = sizeof lengths / sizeof lengths[0];
    for (size_t i = 0; i < n; i++)
        send_frame(c, 1, OP_TEXT, msg, lengths[i]);
    wait_texts(s, n + 1);
    for (size_t i = 0; i < n; i++)
        assert_text(s, i + 1, msg, lengths[i]);
    free(msg);
    assert_int_equal(s->closes, 0);
    finish(f);
}

/* A message fed ONE BYTE PER WRITE with loop turns in between, twice in a row (the parser state
 * resets between messages), with multi-byte UTF-8 split across reads. */
static void test_text_one_byte_per_write(void **state) {
    struct fixture *f = *state;
    const char *texts[] = {"h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac", "second"};
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    for (size_t m = 0; m < 2; m++) {
        buf b = {0};
        frame_encode(&b, 1, OP_TEXT, 1, texts[m], strlen(texts[m]));
        for (size_t i = 0; i < b.len; i++) {
            tc_client_send_turn(&c->tc, b.data + i, 1);
            if (i + 1 < b.len)
                assert_int_equal(s->text_count, m);
        }
        buf_free(&b);
    }
    wait_texts(s, 2);
    assert_text(s, 0, texts[0], strlen(texts[0]));
    assert_text(s, 1, texts[1], strlen(texts[1]));
    finish(f);
}

/* FIN=0 text + continuations make one message; a ping between fragments is answered and does
 * not disturb it; a UTF-8 character split across fragments is valid. */
static void test_fragmented_text(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_frame(c, 0, OP_TEXT, "Hel", 3);
    tc_client_flush_turn(&c->tc);
    send_frame(c, 0, OP_CONT, "lo, w\xc3", 6);
    send_frame(c, 1, OP_PING, "mid", 3);
    send_frame(c, 1, OP_CONT, "\xa9rld", 4);
    wait_texts(s, 1);
    assert_text(s, 0, "Hello, w\xc3\xa9rld", 13);
    assert_int_equal(client_wait_frames(c, 1), 1);
    assert_int_equal(c->frames[0].opcode, OP_PONG);
    assert_string_equal(c->frames[0].data, "mid");
    finish(f);
}

/* ---- tests: messages out ---- */

/* ws_send_text from a handler and from outside one reaches the client as a single unmasked
 * text frame (including a 64-bit length). */
static void test_send_text_unmasked(void **state) {
    struct fixture *f = *state;
    const size_t big = 100 * 1024;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_text(c, "echo:ping back");
    assert_int_equal(client_wait_frames(c, 1), 1);
    assert_int_equal(c->frames[0].opcode, OP_TEXT);
    assert_true(c->frames[0].fin);
    assert_string_equal(c->frames[0].data, "ping back");

    char *msg = malloc(big);
    assert_non_null(msg);
    memset(msg, 'z', big);
    assert_int_equal(ws_send_text(s->ws, "from outside", 12), 0);
    assert_int_equal(ws_send_text(s->ws, msg, big), 0);
    assert_int_equal(client_wait_frames(c, 3), 3);
    assert_string_equal(c->frames[1].data, "from outside");
    assert_int_equal(c->frames[2].opcode, OP_TEXT);
    assert_int_equal(c->frames[2].len, big);
    assert_memory_equal(c->frames[2].data, msg, big);
    free(msg);
    assert_false(ws_is_closing(s->ws));
    finish(f);
}

/* Two messages queued in one turn leave in one write: the client reads both at once (best
 * effort: a single small write on loopback is read whole). */
static void test_two_messages_one_write(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_text(c, "two");
    assert_int_equal(client_wait_frames(c, 2), 2);
    assert_string_equal(c->frames[0].data, "first");
    assert_string_equal(c->frames[1].data, "second");
    if (c->frames[0].read_no != c->frames[1].read_no)
        fail_msg("the two messages arrived in reads %zu and %zu: not corked", c->frames[0].read_no,
                 c->frames[1].read_no);
    finish(f);
}

/* A ping gets a pong with the same payload (also an empty one); no message reaches on_text. */
static void test_ping_pong(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_frame(c, 1, OP_PING, "are you there?", 14);
    assert_int_equal(client_wait_frames(c, 1), 1);
    assert_int_equal(c->frames[0].opcode, OP_PONG);
    assert_true(c->frames[0].fin);
    assert_string_equal(c->frames[0].data, "are you there?");
    send_frame(c, 1, OP_PING, "", 0);
    assert_int_equal(client_wait_frames(c, 2), 2);
    assert_int_equal(c->frames[1].opcode, OP_PONG);
    assert_int_equal(c->frames[1].len, 0);
    assert_int_equal(s->text_count, 0);
    assert_false(c->tc.eof);
    finish(f);
}

/* ---- tests: closing ---- */

/* The client's close frame gets a close reply with its code, then the server ends the
 * connection on its own (the client does not close its socket) and on_close fires once. */
static void test_client_close_frame(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_close(c, 1000, "bye");
    expect_closed_with(c, 1000);
    assert_int_equal(c->frame_count, 1);
    assert_string_equal(c->frames[0].data + 2, "bye");
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    tc_wait_for(&f->h, tc_cond_never, NULL, 20);
    assert_int_equal(s->closes, 1);
    finish(f);
}

/* A close frame without a code is answered with a close frame too. */
static void test_client_close_without_code(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_frame(c, 1, OP_CLOSE, "", 0);
    expect_closed_with(c, 0);
    assert_int_equal(c->frame_count, 1);
    assert_int_equal(c->frames[0].opcode, OP_CLOSE);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    finish(f);
}

/* The client just goes away (TCP FIN, no close frame): on_close once. */
static void test_client_disconnects(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    finish(f);
}

/* One message over WS_MAX_MESSAGE_BYTES → close 1009; on_text never sees it. */
static void test_message_too_big_1009(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    char *msg = calloc(1, WS_MAX_MESSAGE_BYTES + 1);
    assert_non_null(msg);
    memset(msg, 'b', WS_MAX_MESSAGE_BYTES + 1);
    send_frame(c, 1, OP_TEXT, msg, WS_MAX_MESSAGE_BYTES + 1);
    free(msg);
    expect_closed_with(c, 1009);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    finish(f);
}

/* Fragments that add up to more than WS_MAX_MESSAGE_BYTES → close 1009 too. */
static void test_fragments_too_big_1009(void **state) {
    struct fixture *f = *state;
    const size_t part = WS_MAX_MESSAGE_BYTES / 2 + 1;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    char *msg = malloc(part);
    assert_non_null(msg);
    memset(msg, 'p', part);
    send_frame(c, 0, OP_TEXT, msg, part);
    send_frame(c, 1, OP_CONT, msg, part);
    free(msg);
    expect_closed_with(c, 1009);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    finish(f);
}

static void test_binary_1003(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_frame(c, 1, OP_BINARY, "\x00\x01\x02", 3);
    expect_closed_with(c, 1003);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    finish(f);
}

/* An unmasked client frame fails the connection: close 1002 (or just closed); no on_text. */
static void test_unmasked_frame_fails(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    buf b = {0};
    frame_encode(&b, 1, OP_TEXT, 0, "naked", 5);
    tc_client_send(&c->tc, b.data, b.len);
    buf_free(&b);
    expect_closed_with(c, 0);
    if (c->frame_count > 0)
        assert_int_equal(close_code(&c->frames[c->frame_count - 1]), 1002);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    finish(f);
}

struct proto_case {
    const char *what;
    int fin1, op1, rsv1;
    const char *p1;
    size_t len1;
    int op2; /* a second frame (FIN set) when >= 0 */
    const char *p2;
    size_t len2;
};

/* One protocol violation on a fresh WebSocket: the connection fails (close 1002 or just
 * closed), on_text never fires, on_close once. */
static void check_protocol_error(struct fixture *f, const struct proto_case *pc) {
    struct session *s;
    struct client *c = ws_connect(f, &s);
    buf b = {0};
    frame_encode(&b, pc->fin1, pc->op1, 1, pc->p1, pc->len1);
    b.data[0] = (char)(b.data[0] | pc->rsv1);
    if (pc->op2 >= 0)
        frame_encode(&b, 1, pc->op2, 1, pc->p2, pc->len2);
    tc_client_send(&c->tc, b.data, b.len);
    buf_free(&b);
    if (!tc_wait_for(&f->h, tc_cond_eof, &c->tc, TC_WAIT_MS))
        fail_msg("%s: the connection stayed open", pc->what);
    assert_false(c->bad);
    if (c->frame_count > 0 && close_code(&c->frames[c->frame_count - 1]) != 1002)
        fail_msg("%s: closed with %d, expected 1002", pc->what,
                 close_code(&c->frames[c->frame_count - 1]));
    tc_client_close(&c->tc);
    wait_session_closed(s);
    if (s->text_count != 0)
        fail_msg("%s: on_text fired", pc->what);
}

static void test_protocol_errors_fail(void **state) {
    struct fixture *f = *state;
    static const char big_ping[126];
    static const struct proto_case cases[] = {
        {"continuation without a start", 1, OP_CONT, 0, "x", 1, -1, NULL, 0},
        {"new text inside a fragmented one", 0, OP_TEXT, 0, "a", 1, OP_TEXT, "b", 1},
        {"fragmented ping", 0, OP_PING, 0, "p", 1, -1, NULL, 0},
        {"ping of 126 bytes", 1, OP_PING, 0, big_ping, sizeof big_ping, -1, NULL, 0},
        {"RSV1 set", 1, OP_TEXT, 0x40, "r", 1, -1, NULL, 0},
        {"reserved opcode 3", 1, 0x3, 0, "o", 1, -1, NULL, 0},
        {"close code 1005 on the wire", 1, OP_CLOSE, 0, "\x03\xed", 2, -1, NULL, 0},
    };
    server_start(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_protocol_error(f, &cases[i]);
    finish(f);
}

/* Invalid UTF-8 in a text frame. Observed: wslay validates text payloads itself and fails the
 * connection with close 1007 before the message reaches on_text (so the rt layer never sees
 * invalid UTF-8 from this path). */
static void test_invalid_utf8_1007(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_frame(c, 1, OP_TEXT, "ok \xc3\x28 bad", 9);
    expect_closed_with(c, 1007);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    assert_int_equal(s->text_count, 0);
    finish(f);
}

/* ws_close(4401, "x") from a handler: the close frame carries 4401 and "x", later sends are
 * refused, a second ws_close is ignored, the connection closes and on_close fires once. */
static void test_ws_close_from_handler_4401(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_text(c, "close4401");
    expect_closed_with(c, 4401);
    assert_int_equal(c->frame_count, 1);
    assert_int_equal(c->frames[0].len, 3);
    assert_int_equal(c->frames[0].data[2], 'x');
    assert_int_equal(s->close_rc_closing, 1);
    assert_int_equal(s->late_send_rc, -1);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    finish(f);
}

/* A reason longer than a control frame can carry is cut: the close frame stays <= 125 bytes. */
static void test_ws_close_long_reason(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    send_text(c, "closelong");
    expect_closed_with(c, 4000);
    assert_true(c->frames[c->frame_count - 1].len <= 125);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    finish(f);
}

/* ---- tests: deadlines and shutdown ---- */

/* A short owner deadline fires on_deadline once, at a sweep after it passed; the connection
 * stays open. A deadline cleared with 0 never fires. */
static void test_deadline_fires_once(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    uint64_t set_at = ws_now(s->ws);
    send_text(c, "deadline");
    assert_true(tc_wait_for(&f->h, cond_deadline, s, TC_WAIT_MS));
    assert_int_equal(s->deadlines, 1);
    assert_true(s->deadline_now >= set_at + SHORT_DEADLINE);
    tc_wait_for(&f->h, tc_cond_never, NULL, 3 * HTTP_SWEEP_INTERVAL_MS);
    assert_int_equal(s->deadlines, 1);
    assert_int_equal(s->closes, 0);

    ws_set_deadline(s->ws, ws_now(s->ws) + SHORT_DEADLINE);
    ws_set_deadline(s->ws, 0);
    tc_wait_for(&f->h, tc_cond_never, NULL, 2 * HTTP_SWEEP_INTERVAL_MS);
    assert_int_equal(s->deadlines, 1);
    assert_false(c->tc.eof);
    send_text(c, "echo:still here");
    assert_int_equal(client_wait_frames(c, 1), 1);
    assert_string_equal(c->frames[0].data, "still here");
    finish(f);
}

/* ws_close from on_deadline (an authentication timeout): close frame 4408, on_close once. */
static void test_close_from_on_deadline(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    s->close_on_deadline = 1;
    send_text(c, "deadline");
    expect_closed_with(c, 4408);
    assert_int_equal(s->deadlines, 1);
    tc_client_close(&c->tc);
    wait_session_closed(s);
    finish(f);
}

/* An owner deadline set before a large send still fires on time when the send does not fit in
 * the socket at once (the HTTP layer then waits for the write with its own write timeout). Small
 * socket buffers on both ends force the partial write; the client reads everything; the message
 * stays under the hard limit. */
static void test_deadline_survives_partial_write(void **state) {
    struct fixture *f = *state;
    const size_t big = WS_OUTPUT_HARD_LIMIT - 64 * 1024;
    server_start(f);
    struct client *c = ws_connect_with(f, NULL, NULL, 4096);
    struct session *s = &f->sessions[0];
    int sfd = server_fd_of(c), sndbuf = 4096;
    assert_true(sfd >= 0);
    assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    char *msg = malloc(big);
    assert_non_null(msg);
    memset(msg, 'd', big);
    ws_set_deadline(s->ws, ws_now(s->ws) + SHORT_DEADLINE);
    assert_int_equal(ws_send_text(s->ws, msg, big), 0);
    free(msg);
    assert_int_equal(client_wait_frames(c, 1), 1);
    assert_int_equal(c->frames[0].len, big);
    if (!tc_wait_for(&f->h, cond_deadline, s, 4 * HTTP_SWEEP_INTERVAL_MS))
        fail_msg("a %d ms deadline did not fire within %d ms once a large send was queued",
                 SHORT_DEADLINE, 4 * HTTP_SWEEP_INTERVAL_MS);
    assert_int_equal(s->deadlines, 1);
    finish(f);
}

/* http_server_shutdown calls on_shutdown of every WebSocket; the handler closes with 1001 and
 * the server finishes once the clients leave. */
static void test_shutdown_calls_on_shutdown(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s1, *s2;
    struct client *c1 = ws_connect(f, &s1);
    struct client *c2 = ws_connect(f, &s2);
    tc_server_shutdown(&f->h);
    assert_int_equal(s1->shutdowns, 1);
    assert_int_equal(s2->shutdowns, 1);
    expect_closed_with(c1, 1001);
    expect_closed_with(c2, 1001);
    tc_client_close(&c1->tc);
    tc_client_close(&c2->tc);
    assert_true(tc_wait_for(&f->h, tc_cond_server_done, &f->h, TC_WAIT_MS));
    assert_int_equal(s1->closes, 1);
    assert_int_equal(s2->closes, 1);
    finish(f);
}

/* A handshake whose headers complete after http_server_shutdown began is refused with 503
 * UNAVAILABLE (no session); the server then finishes. */
static void test_handshake_during_shutdown_503(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct client *c = client_open(f);
    buf req = {0};
    handshake_request(&req, "GET", "websocket", "Upgrade", RFC_KEY, "13", NULL);
    tc_client_send_turn(&c->tc, req.data, req.len - 2);
    tc_wait_for(&f->h, tc_cond_never, NULL, 20);
    tc_server_shutdown(&f->h);
    tc_client_send(&c->tc, req.data + req.len - 2, 2);
    buf_free(&req);
    assert_true(tc_wait_for(&f->h, cond_response, c, TC_WAIT_MS));
    assert_true(c->have_response);
    assert_int_equal(c->status, 503);
    assert_non_null(strstr(c->body, "\"UNAVAILABLE\""));
    assert_int_equal(f->session_count, 0);
    assert_int_equal(f->rejected, 1);
    assert_true(tc_wait_for(&f->h, tc_cond_eof, &c->tc, TC_WAIT_MS));
    tc_client_close(&c->tc);
    assert_true(tc_wait_for(&f->h, tc_cond_server_done, &f->h, TC_WAIT_MS));
    finish(f);
}

/* ---- tests: output limits ---- */

/* A handler queues more than WS_OUTPUT_HARD_LIMIT in one turn to a client that reads nothing:
 * ws_send_text refuses once over the limit, the connection is dropped, on_close fires once. */
static void test_output_hard_limit_one_turn(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    uv_read_stop((uv_stream_t *)&c->tc.tcp);
    send_text(c, "flood");
    wait_session_closed(s);
    assert_int_equal(s->flood_rc, -1);
    assert_true(s->flood_sent * FLOOD_MSG_BYTES <= WS_OUTPUT_HARD_LIMIT + 2 * FLOOD_MSG_BYTES);
    finish(f);
}

/* The same over many turns: output leaves while the socket takes it, then piles up until it
 * passes the hard limit and the reader is dropped. */
static void test_output_hard_limit_slow_reader(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    uv_read_stop((uv_stream_t *)&c->tc.tcp);
    char *chunk = malloc(FLOOD_MSG_BYTES);
    assert_non_null(chunk);
    memset(chunk, 's', FLOOD_MSG_BYTES);
    int rc = 0;
    size_t sent = 0;
    uint64_t t0 = uv_now(&f->h.loop);
    while (rc == 0 && sent < FLOOD_MAX_MSGS && uv_now(&f->h.loop) - t0 < TC_WAIT_MS) {
        rc = ws_send_text(s->ws, chunk, FLOOD_MSG_BYTES);
        sent++;
        uv_run(&f->h.loop, UV_RUN_NOWAIT);
        uv_update_time(&f->h.loop);
    }
    free(chunk);
    if (rc != -1)
        fail_msg("%zu messages (%zu MiB) queued to a client that reads nothing, not dropped", sent,
                 sent * FLOOD_MSG_BYTES >> 20);
    wait_session_closed(s);
    finish(f);
}

/* ---- tests: memory between frames ---- */

/* wslay's frame context (4 KiB of input buffer) exists only while a frame is partly read: it
 * is there after half a header, after a whole frame plus the first byte of the next, and inside
 * a fragmented message; it is gone once the input ends on a frame boundary. */
static void test_input_buffer_only_mid_frame(void **state) {
    struct fixture *f = *state;
    server_start(f);
    struct session *s;
    struct client *c = ws_connect(f, &s);
    assert_false(ws_holds_input(s->ws));
    buf b = {0};
    frame_encode(&b, 1, OP_TEXT, 1, "one", 3);
    frame_encode(&b, 1, OP_TEXT, 1, "two", 3);
    size_t first = b.len / 2;
    tc_client_send_turn(&c->tc, b.data, 1); /* half of the first header */
    tc_wait_for(&f->h, tc_cond_never, NULL, 20);
    assert_true(ws_holds_input(s->ws));
    tc_client_send_turn(&c->tc, b.data + 1, first); /* "one" whole + the first byte of "two" */
    wait_texts(s, 1);
    assert_true(ws_holds_input(s->ws));
    tc_client_send_turn(&c->tc, b.data + 1 + first, b.len - 1 - first);
    wait_texts(s, 2);
    assert_false(ws_holds_input(s->ws));
    buf_free(&b);
    send_frame(c, 0, OP_TEXT, "frag", 4); /* a message still open across frames */
    tc_wait_for(&f->h, tc_cond_never, NULL, 20);
    assert_true(ws_holds_input(s->ws));
    send_frame(c, 1, OP_CONT, "ment", 4);
    wait_texts(s, 3);
    assert_text(s, 2, "fragment", 8);
    assert_false(ws_holds_input(s->ws));
    finish(f);
}

struct close_case {
    const char *what;
    const char *payload;
    size_t len;
    int expect; /* the server's close code */
};

/* Close frames that break RFC 6455 §5.5.1/§7.4: a one-byte payload or a code that may not be
 * sent → 1002; a reason that is not UTF-8 → 1007; a private code (3000–4999) is echoed. */
static void test_close_frame_rules(void **state) {
    struct fixture *f = *state;
    static const struct close_case cases[] = {
        {"one byte", "\x03", 1, 1002},
        {"code 999", "\x03\xe7", 2, 1002},
        {"code 1006", "\x03\xee", 2, 1002},
        {"code 5000", "\x13\x88", 2, 1002},
        {"bad UTF-8 reason", "\x03\xe8\xc3\x28", 4, 1007},
        {"private code", "\x0f\xa0ok", 4, 4000},
    };
    server_start(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct session *s;
        struct client *c = ws_connect(f, &s);
        send_frame(c, 1, OP_CLOSE, cases[i].payload, cases[i].len);
        assert_true(tc_wait_for(&f->h, tc_cond_eof, &c->tc, TC_WAIT_MS));
        if (c->frame_count != 1 || close_code(&c->frames[0]) != cases[i].expect)
            fail_msg("%s: expected close %d", cases[i].what, cases[i].expect);
        tc_client_close(&c->tc);
        wait_session_closed(s);
    }
    finish(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc_example),
        T(test_handshake_101),
        T(test_handshake_token_lists),
        T(test_bad_handshakes_400),
        T(test_bad_handshake_key_not_base64),
        T(test_frame_behind_handshake),
        T(test_text_reaches_on_text),
        T(test_text_one_byte_per_write),
        T(test_fragmented_text),
        T(test_send_text_unmasked),
        T(test_two_messages_one_write),
        T(test_ping_pong),
        T(test_client_close_frame),
        T(test_client_close_without_code),
        T(test_client_disconnects),
        T(test_message_too_big_1009),
        T(test_fragments_too_big_1009),
        T(test_binary_1003),
        T(test_unmasked_frame_fails),
        T(test_protocol_errors_fail),
        T(test_invalid_utf8_1007),
        T(test_ws_close_from_handler_4401),
        T(test_ws_close_long_reason),
        T(test_deadline_fires_once),
        T(test_close_from_on_deadline),
        T(test_deadline_survives_partial_write),
        T(test_shutdown_calls_on_shutdown),
        T(test_handshake_during_shutdown_503),
        T(test_output_hard_limit_one_turn),
        T(test_output_hard_limit_slow_reader),
        T(test_input_buffer_only_mid_frame),
        T(test_close_frame_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
