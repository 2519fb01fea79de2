/* http_client.h — the shared harness of the server unit tests: a libuv loop with a timer-guarded
 * tc_wait_for, an in-loop TCP client that writes bytes and parses HTTP/1.1 responses (or hands
 * its bytes to a hook, e.g. WebSocket frames), and server start / graceful finish / teardown
 * helpers that end every test with uv_loop_close() == 0. A test's fixture embeds struct
 * tc_harness; failures are reported through cmocka assertions.
 */
#ifndef CONVO_TEST_HTTP_CLIENT_H
#define CONVO_TEST_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "limits.h"
#include "net/http.h"
#include "util/buf.h"

#define TC_WAIT_MS 3000 /* bound of any single wait */
#define TC_SHUTDOWN_WAIT_MS                                                                        \
    (HTTP_LINGER_MS + 3000) /* a lingering connection may delay shutdown                           \
                             */
#define TC_MAX_CLIENTS   16
#define TC_MAX_RESPONSES 64
#define TC_MAX_REQUESTS  64

struct tc_response {
    int status;
    char *head; /* status line and headers, NUL-terminated, without the blank line */
    char *body; /* NUL-terminated */
    size_t body_len;
};

struct tc_harness;
struct tc_client;

/* Replaces the HTTP response parser: called after every read with the bytes in c->in. */
typedef void (*tc_data_fn)(struct tc_client *c);
/* Called on each parsed response; returning 1 drops it (counted in c->dropped). */
typedef int (*tc_response_fn)(struct tc_client *c, const struct tc_response *r);

struct tc_client {
    struct tc_harness *h;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    int open, closing, closed;
    int connected, connect_status;
    int eof, read_error;
    int writes_pending, write_error;
    int bad_response;
    size_t reads; /* reads that brought bytes */
    size_t want;
    char is_head[TC_MAX_REQUESTS]; /* per tc_exchange request: 1 when HEAD (reply has no body) */
    size_t sent;
    buf in;
    struct tc_response responses[TC_MAX_RESPONSES];
    size_t count;
    tc_data_fn on_data;
    tc_response_fn on_response;
    size_t dropped;
};

struct tc_harness {
    uv_loop_t loop;
    uv_timer_t guard;
    int guard_fired, guard_closed;
    http_server *server;
    int port;
    int shutdown_started, server_done, loop_closed;
    int want_connections;
    void (*close_handles)(struct tc_harness *h); /* closes the test's own handles, once */
    struct tc_client *clients[TC_MAX_CLIENTS];   /* every client opened, in order */
    size_t client_count;
    struct tc_client pool[TC_MAX_CLIENTS]; /* storage of tc_client_open */
    size_t pool_used;
    char read_buf[65536];
};

/* ---- bounded waiting ---- */

typedef int (*tc_cond_fn)(const void *arg);

/* Runs the loop until done(arg) or ms elapse; returns done(arg). */
int tc_wait_for(struct tc_harness *h, tc_cond_fn done, const void *arg, uint64_t ms);
int tc_cond_never(const void *arg);
int tc_cond_server_done(const void *arg);    /* arg: harness */
int tc_cond_clients_closed(const void *arg); /* arg: harness */
int tc_cond_eof(const void *arg);            /* arg: client */
int tc_cond_responses(const void *arg);      /* arg: client; count >= want or EOF */

/* ---- responses ---- */

/* Copies the value of the first header called name into out; 0 when absent. */
int tc_header_get(const char *head, const char *name, char *out, size_t outlen);
int tc_has_header(const struct tc_response *r, const char *name);
/* Moves one complete response from c->in to c->responses; 0 when none is complete yet. */
int tc_client_parse_one(struct tc_client *c);
/* Frees the responses held (not c->in). */
void tc_client_clear(struct tc_client *c);

/* ---- the client ---- */

/* Connects a new client (from the harness's pool) to the server and starts reading. */
struct tc_client *tc_client_open(struct tc_harness *h);
/* Same with storage c (zeroed, hooks may be set); rcvbuf > 0 shrinks the receive buffer. */
void tc_client_open_in(struct tc_harness *h, struct tc_client *c, int rcvbuf);
/* Hands a connected socket to a new client that reads from it. */
struct tc_client *tc_client_adopt(struct tc_harness *h, int fd);
int tc_client_read_start(struct tc_client *c);
void tc_client_close(struct tc_client *c);
/* Closes with a TCP reset (SO_LINGER 0) instead of a FIN. */
void tc_client_reset(struct tc_client *c);
void tc_client_send(struct tc_client *c, const void *data, size_t len);
void tc_client_send_str(struct tc_client *c, const char *s);
/* Waits until every write left, then gives the server one more loop turn to read them. */
void tc_client_flush_turn(struct tc_client *c);
void tc_client_send_turn(struct tc_client *c, const void *data, size_t len);
/* Feeds data ONE BYTE PER WRITE with a loop turn between writes. */
void tc_client_send_bytewise(struct tc_client *c, const char *data, size_t len);
/* Waits until the client holds n responses (or the server closed); returns the count. */
size_t tc_client_wait(struct tc_client *c, size_t n);
/* Waits until n responses were dropped by on_response (or the server closed). */
size_t tc_client_wait_dropped(struct tc_client *c, size_t n);
/* Waits for the server to close: EOF with no bytes left unparsed. */
void tc_client_expect_eof(struct tc_client *c);
/* Sends one request (raw bytes), remembering whether it was HEAD (its reply has no body). */
void tc_client_send_request(struct tc_client *c, const char *request);
/* Sends one request (remembering whether it was HEAD) and returns its response. */
const struct tc_response *tc_exchange(struct tc_client *c, const char *request);
/* Connects with plain syscalls, sends request and (half_close) shuts the write side, all before
 * the server's loop runs; returns the socket. */
int tc_raw_connect_send(struct tc_harness *h, const char *request, int half_close);

/* ---- the server and the end of a test ---- */

/* uv_loop_init and the guard timer; 0 on success. */
int tc_harness_init(struct tc_harness *h);
/* Starts the server on 127.0.0.1 with opt and records its port. */
void tc_server_start(struct tc_harness *h, const struct http_server_options *opt);
/* Starts the graceful shutdown once. */
void tc_server_shutdown(struct tc_harness *h);
void tc_server_wait_connections(struct tc_harness *h, int n, uint64_t ms);
/* Closes every client, shuts the server down gracefully, frees it, waits for the clients. */
void tc_finish_server(struct tc_harness *h);
/* Closes the guard (and close_handles) and asserts uv_loop_close() == 0. */
void tc_finish_loop(struct tc_harness *h);
/* tc_finish_server then tc_finish_loop: the end of every test. */
void tc_finish(struct tc_harness *h);
/* After a failed test: closes what is left (leaks rather than frees memory a live handle uses)
 * and frees the clients' responses and input; -1 when the loop would not close. */
int tc_harness_teardown(struct tc_harness *h);

#endif
