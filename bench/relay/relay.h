/* relay.h — the CONVO relay load generator (bench/relay): shared declarations.
 * Modules: util.c (time, files, /proc, samples, an id map), scan.c (field scanner for the hot
 * server frames), httpc.c (HTTP/1.1 POST client), wsc.c (WebSocket client on libuv +
 * wslay), signup.c / relay.c / idle.c (the three modes), main.c (options, dispatch).
 * Every connection goes to 127.0.0.1 only; every phase has a deadline; one thread, one loop.
 */
#ifndef RELAY_H
#define RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define RELAY_HOST        "127.0.0.1"           /* the only address this tool ever connects to */
#define RELAY_MAX_USERS   50000                 /* upper bound on users / sockets of one run */
#define RELAY_MAX_SECONDS 3600                  /* upper bound on any duration or timeout option */
#define RELAY_TOKEN_MAX   1024                  /* bytes of one access token */
#define RELAY_MAX_SAMPLES (20u * 1000u * 1000u) /* latency samples kept at most */
#define RELAY_CATEGORY    "backend"             /* every matcher in the same category */
#define RELAY_PASSWORD    "relay-bench-password-1"

/* ---- options (main.c) ---- */

enum relay_mode { MODE_SIGNUP, MODE_RUN, MODE_IDLE };

struct opts {
    enum relay_mode mode;
    int port;
    double timeout_s;   /* hard deadline of the whole run */
    int users;          /* signup: accounts to create */
    int concurrency;    /* signup: connections; idle: handshakes in flight */
    const char *out;    /* signup: tokens file to write */
    const char *prefix; /* signup: e-mail prefix */
    const char *tokens; /* run/idle: tokens file to read */
    int first;          /* run/idle: index of the first token used */
    int pairs;          /* run: chats */
    int window;         /* run: unacked messages per sender (window mode) */
    double duration_s;  /* run: sending time */
    double rate;        /* run: offered msg/s in total; 0 = window mode */
    double sock_rate;   /* run: client-side cap per socket, frames/s */
    double sock_burst;  /* run: client-side burst per socket */
    int size;           /* run: message text bytes */
    int sockets;        /* idle: sockets to open */
    int pid;            /* idle: server pid for /proc/PID/status; run: for CPU use (optional) */
    double settle_s;    /* idle: wait before reading RSS */
};

int signup_main(const struct opts *o);
int relay_main(const struct opts *o);
int idle_main(const struct opts *o);

/* ---- util.c ---- */

uint64_t now_ns(void); /* monotonic (uv_hrtime) */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xcalloc(size_t n, size_t size);
char **tokens_load(const char *path, int first, int count); /* exits on error */
void tokens_free(char **tokens, int count);
long proc_rss_kib(int pid);                /* VmRSS of a process, -1 when unreadable */
double proc_cpu_seconds(int pid, int tid); /* user + system CPU of a process (tid 0) or thread */

struct samples {
    uint32_t *v; /* microseconds */
    size_t n, cap;
};
void samples_add(struct samples *s, uint64_t ns);
/* Sorts and fills p50/p90/p99/max (µs); 0s when empty. */
void samples_summary(struct samples *s, double out[4]);
void samples_free(struct samples *s);

/* Open-addressing map int64 → int (no removal), for user and chat ids. */
struct idmap {
    int64_t *keys;
    int *vals;
    size_t cap;
};
void idmap_init(struct idmap *m, size_t expected);
void idmap_put(struct idmap *m, int64_t key, int val);
int idmap_get(const struct idmap *m, int64_t key, int missing);
void idmap_free(struct idmap *m);

/* ---- scan.c: fields of compact JSON frames without building a tree ---- */

/* The value of "key" as a string (unescaped span, quotes excluded); NULL when absent.
 * Only for values without escapes (ids, types, our own texts). */
const char *scan_str(const char *json, size_t len, const char *key, size_t *out_len);
/* The value of "key" as an integer, written as a number or a string of digits; -1 if absent. */
int64_t scan_int(const char *json, size_t len, const char *key);
int scan_type_is(const char *json, size_t len, const char *type);

/* ---- httpc.c: one HTTP/1.1 POST on its own connection (Connection: close) ---- */

/* status 0 = transport error; body is the response body (not NUL-terminated). */
typedef void (*httpc_cb)(int status, const char *body, size_t len, void *arg);
/* POSTs a JSON body to RELAY_HOST:port; cb runs exactly once (0 if it cannot even start). */
void httpc_post(uv_loop_t *loop, int port, const char *path, const char *extra_headers,
                const char *body, httpc_cb cb, void *arg);

/* ---- wsc.c: a WebSocket client connection ---- */

typedef struct wsc wsc;
struct wsc_handlers {
    void (*on_open)(wsc *c, void *user);                               /* handshake done */
    void (*on_text)(wsc *c, void *user, const char *data, size_t len); /* one message */
    void (*on_close)(wsc *c, void *user, int code); /* gone; c is freed after this returns */
};
/* Connects to RELAY_HOST:port and upgrades GET /ws; NULL if the socket cannot be made. */
wsc *wsc_connect(uv_loop_t *loop, int port, const struct wsc_handlers *h, void *user);
int wsc_send_text(wsc *c, const char *data, size_t len); /* queued, written before next poll */
void wsc_close(wsc *c, uint16_t code);                   /* closing handshake */
void wsc_abort(wsc *c);                                  /* drop the TCP connection now */
size_t wsc_output_pending(const wsc *c);
void wsc_module_close(void); /* closes the flush handle once every wsc is gone */

#endif
