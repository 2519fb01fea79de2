/* httpc.c — the sign-up client: one POST per TCP connection to 127.0.0.1 (Connection: close),
 * the answer read to its Content-Length (or to EOF), then the callback, then the close.
 * Argon2id makes a sign-up cost ~35 ms of server CPU, so connection set-up does not matter here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay.h"

#define HTTPC_MAX_RESPONSE (64 * 1024)

struct httpc {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    char *request;
    size_t request_len;
    char in[HTTPC_MAX_RESPONSE];
    size_t in_len;
    httpc_cb cb;
    void *arg;
    int done;
};

static void httpc_freed(uv_handle_t *h) {
    struct httpc *c = h->data;
    free(c->request);
    free(c);
}

/* Runs the callback once, then closes the connection. */
static void httpc_finish(struct httpc *c, int status, const char *body, size_t len) {
    if (c->done)
        return;
    c->done = 1;
    c->cb(status, body, len, c->arg);
    uv_close((uv_handle_t *)&c->tcp, httpc_freed);
}

/* Content-Length of a header block, or -1. */
static long header_content_length(const char *head, size_t len) {
    static const char name[] = "\r\ncontent-length:";
    for (size_t i = 0; i + sizeof name - 1 < len; i++)
        if (strncasecmp(head + i, name, sizeof name - 1) == 0)
            return strtol(head + i + sizeof name - 1, NULL, 10);
    return -1;
}

/* Finishes when the whole answer is in (or at EOF when eof is set). */
static void httpc_try_complete(struct httpc *c, int eof) {
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) {
        if (eof)
            httpc_finish(c, 0, NULL, 0);
        return;
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    long cl = header_content_length(c->in, head_len);
    size_t body_len = c->in_len - head_len;
    if (!eof && (cl < 0 || body_len < (size_t)cl))
        return;
    if (cl >= 0 && body_len > (size_t)cl)
        body_len = (size_t)cl;
    int status = 0;
    if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    httpc_finish(c, status, c->in + head_len, body_len);
}

static void httpc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    struct httpc *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void httpc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    struct httpc *c = s->data;
    (void)buf;
    if (n > 0) {
        c->in_len += (size_t)n;
        httpc_try_complete(c, c->in_len == sizeof c->in);
    } else if (n < 0) {
        httpc_try_complete(c, 1);
    }
}

static void httpc_written(uv_write_t *w, int status) {
    struct httpc *c = w->data;
    if (status != 0)
        httpc_finish(c, 0, NULL, 0);
}

static void httpc_connected(uv_connect_t *req, int status) {
    struct httpc *c = req->data;
    if (status != 0) {
        httpc_finish(c, 0, NULL, 0);
        return;
    }
    uv_buf_t b = uv_buf_init(c->request, (unsigned)c->request_len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, httpc_written) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, httpc_alloc, httpc_read) != 0)
        httpc_finish(c, 0, NULL, 0);
}

static char *httpc_format(int port, const char *path, const char *extra, const char *body,
                          size_t *len) {
    char *out = NULL;
    int n = asprintf(&out,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     path, RELAY_HOST, port, strlen(body), extra ? extra : "", body);
    if (n < 0)
        fatal("out of memory");
    *len = (size_t)n;
    return out;
}

void httpc_post(uv_loop_t *loop, int port, const char *path, const char *extra_headers,
                const char *body, httpc_cb cb, void *arg) {
    struct httpc *c = xcalloc(1, sizeof *c);
    struct sockaddr_in addr;
    c->cb = cb;
    c->arg = arg;
    c->request = httpc_format(port, path, extra_headers, body, &c->request_len);
    uv_ip4_addr(RELAY_HOST, port, &addr);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, httpc_connected) != 0)
        httpc_finish(c, 0, NULL, 0);
}
