/* ws.c — WebSocket on an upgraded http_conn (see ws.h). wslay does the framing, masking, control
 * frames and fragmentation; this file feeds it the bytes libuv read, hands what it wants to send
 * to the connection's output buffer, keeps the heartbeat and enforces the output limits.
 * Owns the wslay context. Never blocks; never frees itself inside a wslay callback.
 */
#include "net/ws.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "limits.h"
#include "net/http_reply.h"
#include "util/metrics.h"

struct ws_conn {
    http_conn *conn;
    wslay_event_context_ptr ctx;
    const struct ws_handlers *h;
    void *owner;
    const char *in; /* bytes being fed to wslay_event_recv */
    size_t in_len;
    uint64_t last_rx_ms; /* last time anything arrived */
    uint64_t next_ping_ms;
    uint64_t owner_deadline_ms;
    uint64_t soft_since_ms; /* when output first stayed above the soft limit; 0 = below */
    int closing;
};

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_accept_key(const char *key, size_t key_len, char out[29]) {
    unsigned char input[128], digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    size_t n = key_len < sizeof input - sizeof ws_guid ? key_len : sizeof input - sizeof ws_guid;
    memcpy(input, key, n);
    memcpy(input + n, ws_guid, sizeof ws_guid - 1);
    EVP_Digest(input, n + sizeof ws_guid - 1, digest, &digest_len, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, digest, (int)digest_len);
}

/* ---- deadlines: the earliest of the next ping, the silence limit and the owner's ---- */

static void ws_arm(ws_conn *ws) {
    uint64_t d = ws->next_ping_ms;
    uint64_t silent = ws->last_rx_ms + WS_SILENCE_TIMEOUT_MS;
    if (silent < d)
        d = silent;
    if (ws->owner_deadline_ms && ws->owner_deadline_ms < d)
        d = ws->owner_deadline_ms;
    if (ws->soft_since_ms)
        d = d < ws->soft_since_ms + WS_OUTPUT_SOFT_SECONDS * 1000
                ? d
                : ws->soft_since_ms + WS_OUTPUT_SOFT_SECONDS * 1000;
    http_conn_set_deadline(ws->conn, d);
}

void ws_set_deadline(ws_conn *ws, uint64_t deadline_ms) {
    ws->owner_deadline_ms = deadline_ms;
    if (!ws->closing)
        ws_arm(ws);
}

uint64_t ws_now(const ws_conn *ws) {
    return http_conn_now(ws->conn);
}

int ws_is_closing(const ws_conn *ws) {
    return ws->closing || http_conn_is_closing(ws->conn);
}

/* ---- output ---- */

/* Drops a reader that lets its queue grow past the hard limit, or past the soft one for long. */
static int ws_output_over_limit(ws_conn *ws) {
    size_t pending = http_conn_output_pending(ws->conn);
    uint64_t now = ws_now(ws);
    if (pending <= WS_OUTPUT_SOFT_LIMIT) {
        ws->soft_since_ms = 0;
        return 0;
    }
    if (!ws->soft_since_ms)
        ws->soft_since_ms = now;
    if (pending > WS_OUTPUT_HARD_LIMIT ||
        now >= ws->soft_since_ms + WS_OUTPUT_SOFT_SECONDS * 1000) {
        metrics_limit_hit(LIMIT_WS_OUTPUT);
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return 1;
    }
    return 0;
}

static void ws_pump(ws_conn *ws) {
    if (http_conn_is_closing(ws->conn))
        return;
    wslay_event_send(ws->ctx);
    if (ws_output_over_limit(ws))
        return;
    /* Both close frames exchanged, or a fatal error: nothing more to say. */
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        ws->closing = 1;
        http_conn_close_after_write(ws->conn);
        return;
    }
    ws_arm(ws);
}

int ws_send_text(ws_conn *ws, const char *data, size_t len) {
    if (ws_is_closing(ws))
        return -1;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)data, len};
    if (wslay_event_queue_msg(ws->ctx, &msg) != 0)
        return -1;
    ws_pump(ws);
    return ws_is_closing(ws) ? -1 : 0;
}

void ws_close(ws_conn *ws, uint16_t code, const char *reason) {
    if (ws_is_closing(ws))
        return;
    size_t len = reason ? strlen(reason) : 0;
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, len < 123 ? len : 122);
    wslay_event_shutdown_read(ws->ctx);
    wslay_event_send(ws->ctx);
    ws->closing = 1;
    http_conn_close_after_write(ws->conn);
}

/* ---- wslay callbacks ---- */

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user) {
    ws_conn *ws = user;
    (void)flags;
    if (ws->in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = ws->in_len < len ? ws->in_len : len;
    memcpy(buf, ws->in, n);
    ws->in += n;
    ws->in_len -= n;
    return (ssize_t)n;
}

static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user) {
    ws_conn *ws = user;
    (void)flags;
    if (http_conn_is_closing(ws->conn)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    http_conn_write(ws->conn, data, len);
    return (ssize_t)len;
}

static void on_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *user) {
    ws_conn *ws = user;
    (void)ctx;
    if (ws->closing)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        ws->h->on_text(ws->owner, (const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        ws_close(ws, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages are not supported");
}

static const struct wslay_event_callbacks wslay_callbacks = {
    .recv_callback = on_wslay_recv,
    .send_callback = on_wslay_send,
    .on_msg_recv_callback = on_wslay_msg,
};

/* ---- http_conn hooks ---- */

static void on_conn_data(void *ctx, const char *data, size_t len) {
    ws_conn *ws = ctx;
    if (ws->closing)
        return;
    ws->last_rx_ms = ws_now(ws);
    ws->in = data;
    ws->in_len = len;
    int rc = wslay_event_recv(ws->ctx);
    ws->in = NULL;
    ws->in_len = 0;
    if (rc != 0 && !ws->closing) {
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return;
    }
    ws_pump(ws);
}

static void on_conn_deadline(void *ctx, uint64_t now) {
    ws_conn *ws = ctx;
    if (ws->closing)
        return;
    if (now >= ws->last_rx_ms + WS_SILENCE_TIMEOUT_MS) {
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return;
    }
    if (now >= ws->next_ping_ms) {
        struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
        wslay_event_queue_msg(ws->ctx, &ping);
        ws->next_ping_ms = now + WS_PING_INTERVAL_MS;
    }
    if (ws->owner_deadline_ms && now >= ws->owner_deadline_ms) {
        ws->owner_deadline_ms = 0;
        ws->h->on_deadline(ws->owner, now);
    }
    if (!ws_is_closing(ws))
        ws_pump(ws);
}

static void on_conn_shutdown(void *ctx) {
    ws_conn *ws = ctx;
    ws->h->on_shutdown(ws->owner);
}

static void on_conn_close(void *ctx) {
    ws_conn *ws = ctx;
    ws->h->on_close(ws->owner);
    wslay_event_context_free(ws->ctx);
    free(ws);
}

static const struct http_upgrade_ops ws_upgrade_ops = {
    .on_data = on_conn_data,
    .on_deadline = on_conn_deadline,
    .on_shutdown = on_conn_shutdown,
    .on_close = on_conn_close,
};

/* ---- handshake ---- */

static int header_has_token(const http_request *req, const char *name, const char *token) {
    size_t len = 0, tlen = strlen(token);
    const char *v = http_request_header(req, name, &len);
    for (size_t i = 0; v && i + tlen <= len; i++) {
        int starts = i == 0 || v[i - 1] == ',' || v[i - 1] == ' ';
        int ends = i + tlen == len || v[i + tlen] == ',' || v[i + tlen] == ' ';
        if (starts && ends && strncasecmp(v + i, token, tlen) == 0)
            return 1;
    }
    return 0;
}

static int is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Sec-WebSocket-Key: the base64 of 16 bytes (RFC 6455 §4.2.1): 22 characters and "==", the last
 * character's low four bits zero. */
static const char *handshake_key(http_request *req, size_t *len) {
    const char *key = http_request_header(req, "sec-websocket-key", len);
    if (!key || *len != 24 || key[22] != '=' || key[23] != '=')
        return NULL;
    for (int i = 0; i < 22; i++)
        if (!is_base64(key[i]))
            return NULL;
    return strchr("AQgw", key[21]) ? key : NULL;
}

static int handshake_check(http_request *req) {
    size_t vlen = 0, klen = 0;
    const char *version = http_request_header(req, "sec-websocket-version", &vlen);
    if (req->method != HTTP_GET || !header_has_token(req, "upgrade", "websocket") ||
        !header_has_token(req, "connection", "upgrade") || !handshake_key(req, &klen)) {
        http_reply_error(req, ERR_BAD_REQUEST, "A WebSocket handshake is expected here.");
        return -1;
    }
    if (!version || vlen != 2 || memcmp(version, "13", 2) != 0) {
        http_reply_error_full(req, ERR_BAD_REQUEST, "Only WebSocket version 13 is spoken here.",
                              NULL, 0, "Sec-WebSocket-Version: 13\r\n");
        return -1;
    }
    return 0;
}

static ws_conn *ws_new(const struct ws_handlers *h, void *owner) {
    ws_conn *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    if (wslay_event_context_server_init(&ws->ctx, &wslay_callbacks, ws) != 0) {
        free(ws);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_MAX_MESSAGE_BYTES);
    ws->h = h;
    ws->owner = owner;
    return ws;
}

ws_conn *ws_accept(http_request *req, const struct ws_handlers *h, void *ctx) {
    if (handshake_check(req) != 0)
        return NULL;
    size_t klen = 0;
    const char *key = handshake_key(req, &klen);
    char accept[29], head[256];
    ws_accept_key(key, klen, accept);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Request-Id: %s\r\n\r\n",
                     accept, req->request_id);
    ws_conn *ws = ws_new(h, ctx);
    if (!ws) {
        http_reply_error(req, ERR_INTERNAL, NULL);
        return NULL;
    }
    if (http_upgrade(req, head, (size_t)n, &ws_upgrade_ops, ws, &ws->conn) != 0) {
        wslay_event_context_free(ws->ctx);
        free(ws);
        http_reply_error(req, ERR_UNAVAILABLE, NULL);
        return NULL;
    }
    uint64_t now = ws_now(ws);
    ws->last_rx_ms = now;
    ws->next_ping_ms = now + WS_PING_INTERVAL_MS;
    ws_arm(ws);
    return ws;
}
