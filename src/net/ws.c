/* ws.c — WebSocket on an upgraded http_conn (see ws.h). wslay's frame layer parses, unmasks and
 * writes frames; this file assembles messages, answers control frames (ping, close), checks
 * opcodes, sizes and UTF-8, keeps the heartbeat and enforces the output limits.
 * Memory: an idle connection holds no wslay context and no buffer. A frame context (4 KiB of
 * input buffer) exists only while a frame is partly read; outgoing frames go straight into the
 * connection's output buffer through one shared sending context. Never blocks; never frees
 * itself inside a handler's call.
 */
#include "net/ws.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "limits.h"
#include "net/http_reply.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/utf8.h"

enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_BAD_DATA = 1007,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CONTROL_MAX = 125, /* payload bytes of a control frame (RFC 6455 §5.5) */
};

struct ws_conn {
    http_conn *conn;
    const struct ws_handlers *h;
    void *owner;
    wslay_frame_context_ptr rx; /* only while input is partly read; NULL between frames */
    const char *in;             /* bytes being fed to wslay_frame_recv */
    size_t in_len;
    uint64_t rx_fed;     /* bytes handed to rx … */
    uint64_t rx_used;    /* … and bytes of frames seen whole or in part (header + payload) */
    uint64_t frame_left; /* payload bytes of the current frame not seen yet */
    int in_frame;        /* the current frame's first chunk has been seen */
    int msg_open;        /* a fragmented text message waits for its last frame */
    buf msg;             /* the open message's bytes (fragmented, or split across reads) */
    uint8_t ctrl[WS_CONTROL_MAX];
    uint8_t ctrl_len;
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
    uint64_t soft = ws->soft_since_ms + WS_OUTPUT_SOFT_SECONDS * 1000;
    if (silent < d)
        d = silent;
    if (ws->owner_deadline_ms && ws->owner_deadline_ms < d)
        d = ws->owner_deadline_ms;
    if (ws->soft_since_ms && soft < d)
        d = soft;
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

int ws_holds_input(const ws_conn *ws) {
    return ws->rx != NULL;
}

/* ---- output: one shared wslay context writes every frame into its connection's buffer ---- */

static http_conn *ws_tx_target; /* the connection wslay_frame_send is writing to */
static wslay_frame_context_ptr ws_tx;

static ssize_t on_tx(const uint8_t *data, size_t len, int flags, void *user) {
    (void)flags;
    (void)user;
    http_conn_write(ws_tx_target, data, len);
    return (ssize_t)len;
}

static const struct wslay_frame_callbacks ws_tx_callbacks = {.send_callback = on_tx};

/* Writes one whole unmasked frame (server frames are never masked). 0, or -1 out of memory. */
static int ws_write_frame(ws_conn *ws, uint8_t opcode, const void *data, size_t len) {
    if (!ws_tx && wslay_frame_context_init(&ws_tx, &ws_tx_callbacks, NULL) != 0)
        return -1;
    struct wslay_frame_iocb f = {
        .fin = 1, .opcode = opcode, .payload_length = len, .data = data, .data_length = len};
    ws_tx_target = ws->conn;
    ssize_t sent = wslay_frame_send(ws_tx, &f);
    ws_tx_target = NULL;
    if (sent == (ssize_t)len)
        return 0;
    wslay_frame_context_free(ws_tx); /* never left half-way through a frame */
    ws_tx = NULL;
    return -1;
}

/* Drops a reader that lets its queue grow past the hard limit, or past the soft one for long. */
static int ws_output_over_limit(ws_conn *ws) {
    size_t pending = http_conn_output_pending(ws->conn);
    uint64_t now = ws_now(ws);
    if (pending <= WS_OUTPUT_SOFT_LIMIT) {
        ws->soft_since_ms = 0;
        return 0;
    }
    if (!ws->soft_since_ms) {
        ws->soft_since_ms = now;
        ws_arm(ws);
    }
    if (pending > WS_OUTPUT_HARD_LIMIT ||
        now >= ws->soft_since_ms + WS_OUTPUT_SOFT_SECONDS * 1000) {
        metrics_limit_hit(LIMIT_WS_OUTPUT);
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return 1;
    }
    return 0;
}

static int ws_send(ws_conn *ws, uint8_t opcode, const void *data, size_t len) {
    if (ws_is_closing(ws))
        return -1;
    if (ws_write_frame(ws, opcode, data, len) != 0) {
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return -1;
    }
    return ws_output_over_limit(ws) ? -1 : 0;
}

int ws_send_text(ws_conn *ws, const char *data, size_t len) {
    return ws_send(ws, WSLAY_TEXT_FRAME, data, len);
}

/* A close frame: the code (none when 0) and a reason cut to fit a control frame. */
static void ws_send_close(ws_conn *ws, uint16_t code, const void *reason, size_t len) {
    uint8_t payload[WS_CONTROL_MAX];
    size_t n = 0;
    if (code) {
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)(code & 0xff);
        n = len < WS_CONTROL_MAX - 2 ? len : WS_CONTROL_MAX - 2;
        if (n)
            memcpy(payload + 2, reason, n);
        n += 2;
    }
    ws_write_frame(ws, WSLAY_CONNECTION_CLOSE, payload, n);
}

void ws_close(ws_conn *ws, uint16_t code, const char *reason) {
    if (ws_is_closing(ws))
        return;
    ws_send_close(ws, code, reason, reason ? strlen(reason) : 0);
    ws->closing = 1;
    http_conn_close_after_write(ws->conn);
}

/* ---- input: frames from wslay, messages and control frames for us ---- */

static ssize_t on_rx(uint8_t *buf, size_t len, int flags, void *user) {
    ws_conn *ws = user;
    (void)flags;
    if (ws->in_len == 0)
        return -1; /* wslay answers WSLAY_ERR_WANT_READ */
    size_t n = ws->in_len < len ? ws->in_len : len;
    memcpy(buf, ws->in, n);
    ws->in += n;
    ws->in_len -= n;
    ws->rx_fed += n;
    return (ssize_t)n;
}

static const struct wslay_frame_callbacks ws_rx_callbacks = {.recv_callback = on_rx};

/* Bytes of a client frame's header (wslay refuses lengths not in their shortest form). */
static uint64_t frame_header_bytes(const struct wslay_frame_iocb *f) {
    uint64_t n = f->payload_length < 126 ? 2 : f->payload_length < 65536 ? 4 : 10;
    return f->mask ? n + 4 : n;
}

/* A complete text message: UTF-8 checked, then handed to the owner. */
static void ws_deliver(ws_conn *ws, const uint8_t *data, size_t len) {
    if (!utf8_valid((const char *)data, len))
        ws_close(ws, WS_CLOSE_BAD_DATA, "invalid UTF-8");
    else
        ws->h->on_text(ws->owner, (const char *)data, len);
}

static int close_code_valid(uint16_t code) {
    return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* The peer's close frame: answered with its code and reason, then the connection ends. */
static void ws_on_close_frame(ws_conn *ws) {
    uint16_t code = ws->ctrl_len >= 2 ? (uint16_t)(ws->ctrl[0] << 8 | ws->ctrl[1]) : 0;
    if (ws->ctrl_len == 1 || (ws->ctrl_len >= 2 && !close_code_valid(code))) {
        ws_close(ws, WS_CLOSE_PROTOCOL, "bad close frame");
        return;
    }
    if (ws->ctrl_len > 2 && !utf8_valid((const char *)ws->ctrl + 2, ws->ctrl_len - 2u)) {
        ws_close(ws, WS_CLOSE_BAD_DATA, "invalid UTF-8");
        return;
    }
    ws_send_close(ws, code, ws->ctrl + 2, code ? ws->ctrl_len - 2u : 0);
    ws->closing = 1;
    http_conn_close_after_write(ws->conn);
}

static void ws_on_control(ws_conn *ws, uint8_t opcode) {
    if (opcode == WSLAY_PING)
        ws_send(ws, WSLAY_PONG, ws->ctrl, ws->ctrl_len);
    else if (opcode == WSLAY_CONNECTION_CLOSE)
        ws_on_close_frame(ws);
    /* a pong only proves the peer is alive: last_rx_ms has moved already */
}

/* The first chunk of a frame: opcode, masking, fragmentation and size rules. 0, or -1 when the
 * connection is being closed. */
static int ws_frame_begin(ws_conn *ws, const struct wslay_frame_iocb *f) {
    ws->in_frame = 1;
    ws->frame_left = f->payload_length;
    ws->rx_used += frame_header_bytes(f);
    ws->ctrl_len = 0;
    int cont = f->opcode == WSLAY_CONTINUATION_FRAME;
    int data = cont || f->opcode == WSLAY_TEXT_FRAME || f->opcode == WSLAY_BINARY_FRAME;
    int control =
        f->opcode == WSLAY_PING || f->opcode == WSLAY_PONG || f->opcode == WSLAY_CONNECTION_CLOSE;
    if (f->rsv || !f->mask || (!data && !control) || (data && cont != ws->msg_open))
        ws_close(ws, WS_CLOSE_PROTOCOL, "protocol error");
    else if (f->opcode == WSLAY_BINARY_FRAME)
        ws_close(ws, WS_CLOSE_UNSUPPORTED, "binary messages are not supported");
    else if (data && ws->msg.len + f->payload_length > WS_MAX_MESSAGE_BYTES)
        ws_close(ws, WS_CLOSE_TOO_BIG, "message too big");
    return ws->closing ? -1 : 0;
}

/* One chunk of payload (possibly empty) from wslay. 0, or -1 when the connection is closing. */
static int ws_frame_chunk(ws_conn *ws, const struct wslay_frame_iocb *f) {
    if (!ws->in_frame && ws_frame_begin(ws, f) != 0)
        return -1;
    ws->rx_used += f->data_length;
    ws->frame_left -= f->data_length;
    int frame_done = ws->frame_left == 0;
    if (frame_done)
        ws->in_frame = 0;
    if (f->opcode >= WSLAY_CONNECTION_CLOSE) {
        memcpy(ws->ctrl + ws->ctrl_len, f->data, f->data_length); /* wslay bounds it to 125 */
        ws->ctrl_len = (uint8_t)(ws->ctrl_len + f->data_length);
        if (frame_done)
            ws_on_control(ws, f->opcode);
        return ws->closing ? -1 : 0;
    }
    ws->msg_open = !(frame_done && f->fin);
    if (!ws->msg_open && ws->msg.len == 0 && f->data_length == f->payload_length) {
        ws_deliver(ws, f->data, f->data_length); /* the common case: no copy */
    } else {
        buf_append(&ws->msg, f->data, f->data_length);
        if (ws->msg.failed) {
            ws->closing = 1;
            http_conn_abort(ws->conn);
        } else if (!ws->msg_open) {
            ws_deliver(ws, (const uint8_t *)ws->msg.data, ws->msg.len);
            buf_free(&ws->msg);
        }
    }
    return ws->closing ? -1 : 0;
}

/* Between frames, with nothing buffered in wslay, the frame context goes: idle sockets keep no
 * input buffer. */
static void ws_rx_release_if_idle(ws_conn *ws) {
    if (ws->rx && !ws->in_frame && !ws->msg_open && ws->rx_fed == ws->rx_used) {
        wslay_frame_context_free(ws->rx);
        ws->rx = NULL;
        ws->rx_fed = ws->rx_used = 0;
    }
}

static void ws_receive(ws_conn *ws) {
    while (!ws->closing) {
        struct wslay_frame_iocb f;
        ssize_t r = wslay_frame_recv(ws->rx, &f);
        if (r == WSLAY_ERR_WANT_READ) {
            if (ws->in_len == 0)
                return;
            continue; /* it wants more than one read's worth: feed it the rest */
        }
        if (r < 0) {
            ws_close(ws, WS_CLOSE_PROTOCOL, "protocol error");
            return;
        }
        if (ws_frame_chunk(ws, &f) != 0)
            return;
    }
}

/* ---- http_conn hooks ---- */

static void on_conn_data(void *ctx, const char *data, size_t len) {
    ws_conn *ws = ctx;
    if (ws->closing)
        return;
    ws->last_rx_ms = ws_now(ws);
    if (!ws->rx && wslay_frame_context_init(&ws->rx, &ws_rx_callbacks, ws) != 0) {
        ws->closing = 1;
        http_conn_abort(ws->conn);
        return;
    }
    ws->in = data;
    ws->in_len = len;
    ws_receive(ws);
    ws->in = NULL;
    ws->in_len = 0;
    if (!ws->closing) {
        ws_rx_release_if_idle(ws);
        ws_arm(ws);
    }
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
        ws->next_ping_ms = now + WS_PING_INTERVAL_MS;
        if (ws_send(ws, WSLAY_PING, NULL, 0) != 0)
            return;
    }
    if (ws->owner_deadline_ms && now >= ws->owner_deadline_ms) {
        ws->owner_deadline_ms = 0;
        ws->h->on_deadline(ws->owner, now);
    }
    if (!ws_is_closing(ws) && !ws_output_over_limit(ws))
        ws_arm(ws);
}

static void on_conn_shutdown(void *ctx) {
    ws_conn *ws = ctx;
    ws->h->on_shutdown(ws->owner);
}

static void on_conn_close(void *ctx) {
    ws_conn *ws = ctx;
    ws->h->on_close(ws->owner);
    if (ws->rx)
        wslay_frame_context_free(ws->rx);
    buf_free(&ws->msg);
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
