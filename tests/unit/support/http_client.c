/* http_client.c — the shared harness of the server unit tests (see http_client.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_client.h"

/* ---- bounded waiting ---- */

static void on_guard(uv_timer_t *t) {
    struct tc_harness *h = t->data;
    h->guard_fired = 1;
}

int tc_wait_for(struct tc_harness *h, tc_cond_fn done, const void *arg, uint64_t ms) {
    h->guard_fired = 0;
    uv_timer_start(&h->guard, on_guard, ms, 0);
    while (!done(arg) && !h->guard_fired)
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->guard);
    return done(arg);
}

int tc_cond_never(const void *arg) {
    (void)arg;
    return 0;
}

int tc_cond_server_done(const void *arg) {
    return ((const struct tc_harness *)arg)->server_done;
}

int tc_cond_clients_closed(const void *arg) {
    const struct tc_harness *h = arg;
    for (size_t i = 0; i < h->client_count; i++)
        if (h->clients[i]->open && !h->clients[i]->closed)
            return 0;
    return 1;
}

static int cond_connected(const void *arg) {
    return ((const struct tc_client *)arg)->connected;
}

static int cond_connections(const void *arg) {
    const struct tc_harness *h = arg;
    return http_server_open_connections(h->server) == h->want_connections;
}

int tc_cond_eof(const void *arg) {
    return ((const struct tc_client *)arg)->eof;
}

static int cond_written(const void *arg) {
    return ((const struct tc_client *)arg)->writes_pending == 0;
}

int tc_cond_responses(const void *arg) {
    const struct tc_client *c = arg;
    return c->count >= c->want || c->eof;
}

static int cond_dropped(const void *arg) {
    const struct tc_client *c = arg;
    return c->dropped >= c->want || c->eof;
}

/* ---- responses as a client reads them ---- */

int tc_header_get(const char *head, const char *name, char *out, size_t outlen) {
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + len - v);
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }
        line = eol;
    }
    return 0;
}

int tc_has_header(const struct tc_response *r, const char *name) {
    char tmp[8];
    return tc_header_get(r->head, name, tmp, sizeof tmp);
}

int tc_client_parse_one(struct tc_client *c) {
    const char *data = c->in.data;
    const char *end = data ? memmem(data, c->in.len, "\r\n\r\n", 4) : NULL;
    if (!end)
        return 0;
    size_t head_len = (size_t)(end - data);
    int status = 0;
    if (sscanf(data, "HTTP/1.1 %3d ", &status) != 1) {
        c->bad_response = 1;
        return 0;
    }
    char *head = strndup(data, head_len);
    char cl[32];
    size_t body_len = 0;
    int was_head = c->count < TC_MAX_REQUESTS && c->is_head[c->count];
    int bodiless = was_head || status / 100 == 1 || status == 204 || status == 304;
    if (!bodiless && tc_header_get(head, "content-length", cl, sizeof cl))
        body_len = strtoul(cl, NULL, 10);
    if (c->in.len < head_len + 4 + body_len || c->count == TC_MAX_RESPONSES) {
        c->bad_response |= c->count == TC_MAX_RESPONSES;
        free(head);
        return 0;
    }
    struct tc_response *r = &c->responses[c->count++];
    r->status = status;
    r->head = head;
    r->body = malloc(body_len + 1);
    memcpy(r->body, data + head_len + 4, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    buf_consume(&c->in, head_len + 4 + body_len);
    if (c->on_response && c->on_response(c, r)) {
        free(r->head);
        free(r->body);
        memset(r, 0, sizeof *r);
        c->count--;
        c->dropped++;
    }
    return 1;
}

void tc_client_clear(struct tc_client *c) {
    for (size_t i = 0; i < c->count; i++) {
        free(c->responses[i].head);
        free(c->responses[i].body);
    }
    memset(c->responses, 0, sizeof c->responses);
    c->count = 0;
}

/* ---- the client ---- */

static void client_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b) {
    struct tc_client *c = handle->data;
    (void)suggested;
    *b = uv_buf_init(c->h->read_buf, sizeof c->h->read_buf);
}

static void client_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    struct tc_client *c = s->data;
    if (n < 0) {
        if (n != UV_EOF)
            c->read_error = (int)n;
        c->eof = 1;
        uv_read_stop(s);
        return;
    }
    if (n == 0)
        return;
    c->reads++;
    buf_append(&c->in, b->base, (size_t)n);
    if (c->on_data)
        c->on_data(c);
    else
        while (tc_client_parse_one(c))
            ;
}

static void client_on_connect(uv_connect_t *req, int status) {
    struct tc_client *c = req->data;
    c->connected = 1;
    c->connect_status = status;
}

static void client_on_closed(uv_handle_t *handle) {
    struct tc_client *c = handle->data;
    c->closed = 1;
}

int tc_client_read_start(struct tc_client *c) {
    return uv_read_start((uv_stream_t *)&c->tcp, client_on_alloc, client_on_read);
}

static void client_register(struct tc_harness *h, struct tc_client *c) {
    assert_true(h->client_count < TC_MAX_CLIENTS);
    h->clients[h->client_count++] = c;
    c->h = h;
}

void tc_client_open_in(struct tc_harness *h, struct tc_client *c, int rcvbuf) {
    client_register(h, c);
    assert_int_equal(uv_tcp_init_ex(&h->loop, &c->tcp, AF_INET), 0);
    if (rcvbuf > 0)
        assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&c->tcp, &rcvbuf), 0);
    c->tcp.data = c;
    c->open = 1;
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", h->port, &addr), 0);
    c->connect_req.data = c;
    assert_int_equal(
        uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&addr, client_on_connect), 0);
    assert_true(tc_wait_for(h, cond_connected, c, TC_WAIT_MS));
    assert_int_equal(c->connect_status, 0);
    uv_tcp_nodelay(&c->tcp, 1);
    assert_int_equal(tc_client_read_start(c), 0);
}

struct tc_client *tc_client_open(struct tc_harness *h) {
    assert_true(h->pool_used < TC_MAX_CLIENTS);
    struct tc_client *c = &h->pool[h->pool_used++];
    tc_client_open_in(h, c, 0);
    return c;
}

struct tc_client *tc_client_adopt(struct tc_harness *h, int fd) {
    assert_true(h->pool_used < TC_MAX_CLIENTS);
    struct tc_client *c = &h->pool[h->pool_used++];
    client_register(h, c);
    assert_int_equal(uv_tcp_init(&h->loop, &c->tcp), 0);
    c->tcp.data = c;
    c->open = 1;
    c->connected = 1;
    assert_int_equal(uv_tcp_open(&c->tcp, fd), 0);
    assert_int_equal(tc_client_read_start(c), 0);
    return c;
}

int tc_raw_connect_send(struct tc_harness *h, const char *request, int half_close) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", h->port, &addr), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(send(fd, request, strlen(request), 0), (ssize_t)strlen(request));
    if (half_close)
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
    return fd;
}

void tc_client_close(struct tc_client *c) {
    if (c->open && !c->closing) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, client_on_closed);
    }
}

void tc_client_reset(struct tc_client *c) {
    assert_false(c->closing);
    c->closing = 1;
    assert_int_equal(uv_tcp_close_reset(&c->tcp, client_on_closed), 0);
}

struct write_req {
    uv_write_t req; /* first: the callback casts back */
    struct tc_client *c;
    char data[];
};

static void client_on_write(uv_write_t *w, int status) {
    struct write_req *wr = (struct write_req *)w;
    wr->c->writes_pending--;
    if (status < 0)
        wr->c->write_error = status;
    free(wr);
}

void tc_client_send(struct tc_client *c, const void *data, size_t len) {
    struct write_req *wr = malloc(sizeof *wr + len);
    assert_non_null(wr);
    wr->c = c;
    memcpy(wr->data, data, len);
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    assert_int_equal(uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, client_on_write), 0);
    c->writes_pending++;
}

void tc_client_send_str(struct tc_client *c, const char *s) {
    tc_client_send(c, s, strlen(s));
}

void tc_client_flush_turn(struct tc_client *c) {
    assert_true(tc_wait_for(c->h, cond_written, c, TC_WAIT_MS));
    uv_run(&c->h->loop, UV_RUN_NOWAIT);
}

void tc_client_send_turn(struct tc_client *c, const void *data, size_t len) {
    tc_client_send(c, data, len);
    tc_client_flush_turn(c);
}

void tc_client_send_bytewise(struct tc_client *c, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++)
        tc_client_send_turn(c, data + i, 1);
}

size_t tc_client_wait(struct tc_client *c, size_t n) {
    c->want = n;
    tc_wait_for(c->h, tc_cond_responses, c, TC_WAIT_MS);
    assert_false(c->bad_response);
    return c->count;
}

size_t tc_client_wait_dropped(struct tc_client *c, size_t n) {
    c->want = n;
    tc_wait_for(c->h, cond_dropped, c, TC_WAIT_MS);
    assert_false(c->bad_response);
    return c->dropped;
}

void tc_client_expect_eof(struct tc_client *c) {
    assert_true(tc_wait_for(c->h, tc_cond_eof, c, TC_WAIT_MS));
    assert_int_equal(c->in.len, 0);
}

void tc_client_send_request(struct tc_client *c, const char *request) {
    assert_true(c->sent < TC_MAX_REQUESTS);
    c->is_head[c->sent++] = strncmp(request, "HEAD ", 5) == 0;
    tc_client_send_str(c, request);
}

const struct tc_response *tc_exchange(struct tc_client *c, const char *request) {
    size_t n = c->count + 1;
    tc_client_send_request(c, request);
    c->want = n;
    tc_wait_for(c->h, tc_cond_responses, c, TC_WAIT_MS);
    assert_false(c->bad_response);
    if (c->count < n)
        fail_msg("no complete response to: %s(%zu bytes unparsed: %.80s)", request, c->in.len,
                 c->in.data ? c->in.data : "");
    return &c->responses[n - 1];
}

/* ---- the server and the end of a test ---- */

int tc_harness_init(struct tc_harness *h) {
    if (uv_loop_init(&h->loop) != 0)
        return -1;
    uv_timer_init(&h->loop, &h->guard);
    h->guard.data = h;
    return 0;
}

void tc_server_start(struct tc_harness *h, const struct http_server_options *opt) {
    assert_int_equal(http_server_start(&h->loop, opt, &h->server), 0);
    char addr[64];
    assert_int_equal(http_server_address(h->server, addr, sizeof addr), 0);
    const char *colon = strrchr(addr, ':');
    assert_non_null(colon);
    h->port = atoi(colon + 1);
    assert_true(h->port > 0);
}

static void on_server_done(void *arg) {
    struct tc_harness *h = arg;
    h->server_done = 1;
}

void tc_server_shutdown(struct tc_harness *h) {
    if (!h->shutdown_started) {
        h->shutdown_started = 1;
        http_server_shutdown(h->server, on_server_done, h);
    }
}

void tc_server_wait_connections(struct tc_harness *h, int n, uint64_t ms) {
    h->want_connections = n;
    if (!tc_wait_for(h, cond_connections, h, ms))
        fail_msg("server has %d connections, expected %d", http_server_open_connections(h->server),
                 n);
}

static void clients_close_all(struct tc_harness *h) {
    for (size_t i = 0; i < h->client_count; i++)
        tc_client_close(h->clients[i]);
}

static void loop_close_guard(struct tc_harness *h) {
    if (!h->guard_closed) {
        h->guard_closed = 1;
        uv_close((uv_handle_t *)&h->guard, NULL);
        if (h->close_handles)
            h->close_handles(h);
    }
    uv_run(&h->loop, UV_RUN_NOWAIT);
}

void tc_finish_server(struct tc_harness *h) {
    clients_close_all(h);
    tc_server_shutdown(h);
    assert_true(tc_wait_for(h, tc_cond_server_done, h, TC_SHUTDOWN_WAIT_MS));
    http_server_free(h->server);
    h->server = NULL;
    assert_true(tc_wait_for(h, tc_cond_clients_closed, h, TC_WAIT_MS));
}

void tc_finish_loop(struct tc_harness *h) {
    loop_close_guard(h);
    int rc = uv_loop_close(&h->loop);
    if (rc != 0)
        uv_print_all_handles(&h->loop, stderr);
    assert_int_equal(rc, 0);
    h->loop_closed = 1;
}

void tc_finish(struct tc_harness *h) {
    tc_finish_server(h);
    tc_finish_loop(h);
}

int tc_harness_teardown(struct tc_harness *h) {
    if (!h->loop_closed) {
        clients_close_all(h);
        if (h->server)
            tc_server_shutdown(h);
        if (h->server && !tc_wait_for(h, tc_cond_server_done, h, TC_SHUTDOWN_WAIT_MS)) {
            http_server_force_close(h->server);
            tc_wait_for(h, tc_cond_server_done, h, TC_WAIT_MS);
        }
        if (h->server && h->server_done)
            http_server_free(h->server);
        tc_wait_for(h, tc_cond_clients_closed, h, TC_WAIT_MS);
        loop_close_guard(h);
        if (uv_loop_close(&h->loop) != 0)
            return -1;
    }
    for (size_t i = 0; i < h->client_count; i++) {
        tc_client_clear(h->clients[i]);
        buf_free(&h->clients[i]->in);
    }
    return 0;
}
