/* wsc.c — WebSocket client connections for the load generator: TCP to 127.0.0.1, the HTTP
 * upgrade (Sec-WebSocket-Key from RAND_bytes, Sec-WebSocket-Accept checked with SHA-1), then
 * wslay's client context for framing, masking, ping/pong and the closing handshake.
 * Output is coalesced: sends only queue into wslay and mark the connection dirty; one uv_prepare
 * handle (run before the loop polls) serialises each dirty connection's frames into one buffer
 * and writes it with uv_try_write, falling back to uv_write for the rest.
 * A wsc is freed after its on_close handler ran, in the handle's close callback.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "relay.h"

#define WSC_HEAD_MAX   4096              /* bytes of the upgrade answer */
#define WSC_OUTPUT_CAP (4 * 1024 * 1024) /* buffered output before wslay is told to wait */
#define WSC_READ_BUF   (64 * 1024)

struct obuf {
    char *data;
    size_t len, cap;
};

struct wsc {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    wslay_event_context_ptr ctx;
    const struct wsc_handlers *h;
    void *user;
    char key[32];
    char head[WSC_HEAD_MAX];
    size_t head_len;
    const uint8_t *in; /* bytes being fed to wslay_event_recv */
    size_t in_len;
    struct obuf out, wr; /* accumulating / being written by uv_write */
    int open, writing, close_after_write, handle_closing;
    struct wsc *dirty_prev, *dirty_next;
    int dirty;
    int port;
};

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static uv_prepare_t flush_handle;
static int flush_started;
static struct wsc *dirty_head;
static uint64_t mask_state;
static char read_buf[WSC_READ_BUF];

static void wsc_kill(struct wsc *c);

/* ---- the dirty list and the flush before each poll ---- */

static void dirty_add(struct wsc *c) {
    if (c->dirty || c->handle_closing)
        return;
    c->dirty = 1;
    c->dirty_prev = NULL;
    c->dirty_next = dirty_head;
    if (dirty_head)
        dirty_head->dirty_prev = c;
    dirty_head = c;
}

static void dirty_remove(struct wsc *c) {
    if (!c->dirty)
        return;
    if (c->dirty_prev)
        c->dirty_prev->dirty_next = c->dirty_next;
    else
        dirty_head = c->dirty_next;
    if (c->dirty_next)
        c->dirty_next->dirty_prev = c->dirty_prev;
    c->dirty = 0;
}

static void obuf_append(struct obuf *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            fatal("out of memory for output");
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void wsc_written(uv_write_t *w, int status);

/* Writes what is buffered: uv_try_write first, uv_write for the remainder. */
static void wsc_write_out(struct wsc *c) {
    if (c->handle_closing || c->writing)
        return;
    if (c->out.len == 0) {
        if (c->close_after_write)
            wsc_kill(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out.len) {
        c->out.len = 0;
        if (c->close_after_write)
            wsc_kill(c);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        wsc_kill(c);
        return;
    }
    n = n < 0 ? 0 : n;
    struct obuf t = c->wr;
    c->wr = c->out;
    c->out = t;
    c->out.len = 0;
    c->writing = 1;
    c->write.data = c;
    b = uv_buf_init(c->wr.data + n, (unsigned)(c->wr.len - (size_t)n));
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, wsc_written) != 0) {
        c->writing = 0;
        wsc_kill(c);
    }
}

/* Lets wslay serialise its queue, notices a finished closing handshake, writes. */
static void wsc_pump(struct wsc *c) {
    if (c->handle_closing)
        return;
    if (c->open) {
        wslay_event_send(c->ctx);
        if (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx))
            c->close_after_write = 1;
    }
    wsc_write_out(c);
}

static void wsc_written(uv_write_t *w, int status) {
    struct wsc *c = w->data;
    c->writing = 0;
    c->wr.len = 0;
    if (status != 0) {
        wsc_kill(c);
        return;
    }
    wsc_pump(c);
}

static void on_flush(uv_prepare_t *h) {
    (void)h;
    while (dirty_head) {
        struct wsc *c = dirty_head;
        dirty_remove(c);
        wsc_pump(c);
    }
}

static void flush_start(uv_loop_t *loop) {
    if (flush_started)
        return;
    unsigned char seed[8];
    if (RAND_bytes(seed, sizeof seed) != 1)
        fatal("RAND_bytes failed");
    memcpy(&mask_state, seed, sizeof seed);
    mask_state |= 1;
    uv_prepare_init(loop, &flush_handle);
    uv_prepare_start(&flush_handle, on_flush);
    flush_started = 1;
}

void wsc_module_close(void) {
    if (!flush_started)
        return;
    uv_prepare_stop(&flush_handle);
    uv_close((uv_handle_t *)&flush_handle, NULL);
    flush_started = 0;
}

/* ---- wslay callbacks ---- */

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user) {
    struct wsc *c = user;
    (void)flags;
    if (c->in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = c->in_len < len ? c->in_len : len;
    memcpy(buf, c->in, n);
    c->in += n;
    c->in_len -= n;
    return (ssize_t)n;
}

static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user) {
    struct wsc *c = user;
    (void)flags;
    if (c->out.len + len > WSC_OUTPUT_CAP) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    obuf_append(&c->out, data, len);
    return (ssize_t)len;
}

/* Masks need not be secret for a benchmark: xorshift64*, seeded from RAND_bytes. */
static int on_wslay_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user) {
    (void)ctx;
    (void)user;
    for (size_t i = 0; i < len; i++) {
        mask_state ^= mask_state >> 12;
        mask_state ^= mask_state << 25;
        mask_state ^= mask_state >> 27;
        buf[i] = (uint8_t)((mask_state * 0x2545F4914F6CDD1Dull) >> 56);
    }
    return 0;
}

static void on_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *user) {
    struct wsc *c = user;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME && !c->handle_closing)
        c->h->on_text(c, c->user, (const char *)arg->msg, arg->msg_length);
}

static const struct wslay_event_callbacks wslay_callbacks = {
    .recv_callback = on_wslay_recv,
    .send_callback = on_wslay_send,
    .genmask_callback = on_wslay_genmask,
    .on_msg_recv_callback = on_wslay_msg,
};

/* ---- closing ---- */

static void wsc_freed(uv_handle_t *h) {
    struct wsc *c = h->data;
    int code = -1;
    if (c->open && wslay_event_get_close_received(c->ctx))
        code = wslay_event_get_status_code_received(c->ctx);
    c->h->on_close(c, c->user, code);
    dirty_remove(c);
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    free(c->out.data);
    free(c->wr.data);
    free(c);
}

static void wsc_kill(struct wsc *c) {
    if (c->handle_closing)
        return;
    dirty_remove(c);
    c->handle_closing = 1;
    uv_close((uv_handle_t *)&c->tcp, wsc_freed);
}

void wsc_abort(wsc *c) {
    wsc_kill(c);
}

void wsc_close(wsc *c, uint16_t code) {
    if (c->handle_closing)
        return;
    if (!c->open) {
        wsc_kill(c);
        return;
    }
    wslay_event_queue_close(c->ctx, code, NULL, 0);
    dirty_add(c);
}

int wsc_send_text(wsc *c, const char *data, size_t len) {
    if (!c->open || c->handle_closing)
        return -1;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)data, len};
    if (wslay_event_queue_msg(c->ctx, &msg) != 0)
        return -1;
    dirty_add(c);
    return 0;
}

size_t wsc_output_pending(const wsc *c) {
    return c->out.len + c->wr.len;
}

/* ---- reading: the upgrade answer, then frames ---- */

static void wsc_feed(struct wsc *c, const char *data, size_t len) {
    c->in = (const uint8_t *)data;
    c->in_len = len;
    int rc = wslay_event_recv(c->ctx);
    c->in = NULL;
    c->in_len = 0;
    if (rc != 0) {
        wsc_kill(c);
        return;
    }
    dirty_add(c);
}

/* Checks the 101 answer and its Sec-WebSocket-Accept. */
static int handshake_ok(struct wsc *c, size_t head_len) {
    unsigned char input[64], digest[EVP_MAX_MD_SIZE];
    char expect[64];
    unsigned int dlen = 0;
    size_t klen = strlen(c->key);
    memcpy(input, c->key, klen);
    memcpy(input + klen, ws_guid, sizeof ws_guid - 1);
    EVP_Digest(input, klen + sizeof ws_guid - 1, digest, &dlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)expect, digest, (int)dlen);
    if (strncmp(c->head, "HTTP/1.1 101", 12) != 0)
        return 0;
    static const char name[] = "\r\nsec-websocket-accept:";
    for (size_t i = 0; i + sizeof name - 1 < head_len; i++) {
        if (strncasecmp(c->head + i, name, sizeof name - 1) != 0)
            continue;
        const char *v = c->head + i + sizeof name - 1;
        while (*v == ' ')
            v++;
        return strncmp(v, expect, strlen(expect)) == 0;
    }
    return 0;
}

static void wsc_read_head(struct wsc *c, const char *data, size_t len) {
    size_t room = sizeof c->head - 1 - c->head_len;
    size_t n = len < room ? len : room;
    memcpy(c->head + c->head_len, data, n);
    c->head_len += n;
    c->head[c->head_len] = '\0';
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
        if (c->head_len == sizeof c->head - 1)
            wsc_kill(c);
        return;
    }
    size_t head_len = (size_t)(end - c->head) + 4;
    if (!handshake_ok(c, head_len) ||
        wslay_event_context_client_init(&c->ctx, &wslay_callbacks, c) != 0) {
        wsc_kill(c);
        return;
    }
    c->open = 1;
    size_t used_of_data = head_len - (c->head_len - n);
    c->h->on_open(c, c->user);
    if (used_of_data < len && !c->handle_closing)
        wsc_feed(c, data + used_of_data, len - used_of_data);
}

static void wsc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void wsc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    struct wsc *c = s->data;
    if (n < 0) {
        wsc_kill(c);
        return;
    }
    if (n == 0 || c->handle_closing)
        return;
    if (c->open)
        wsc_feed(c, buf->base, (size_t)n);
    else
        wsc_read_head(c, buf->base, (size_t)n);
}

/* ---- connecting ---- */

static void wsc_send_upgrade(struct wsc *c, int port) {
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     RELAY_HOST, port, c->key);
    obuf_append(&c->out, req, (size_t)n);
    dirty_add(c);
}

static void wsc_connected(uv_connect_t *req, int status) {
    struct wsc *c = req->data;
    if (status != 0 || c->handle_closing) {
        wsc_kill(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, wsc_alloc, wsc_read) != 0) {
        wsc_kill(c);
        return;
    }
    wsc_send_upgrade(c, c->port);
}

static void wsc_free_unused(uv_handle_t *h) {
    free(h->data);
}

wsc *wsc_connect(uv_loop_t *loop, int port, const struct wsc_handlers *h, void *user) {
    struct wsc *c = xcalloc(1, sizeof *c);
    unsigned char raw[16];
    struct sockaddr_in addr;
    flush_start(loop);
    if (RAND_bytes(raw, sizeof raw) != 1)
        fatal("RAND_bytes failed");
    EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof raw);
    c->h = h;
    c->user = user;
    c->port = port;
    uv_ip4_addr(RELAY_HOST, port, &addr);
    if (uv_tcp_init(loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->connect.data = c;
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, wsc_connected) != 0) {
        uv_close((uv_handle_t *)&c->tcp, wsc_free_unused);
        return NULL;
    }
    return c;
}
