/* limits.h — every size, rate and timeout limit of the server, each a named default with a comment.
 * Each limit is enforced at one choke point, which logs the first hit and counts every hit in
 * /metrics (convo_limit_hits_total{limit="…"}). Store limits live in store/store.h.
 */
#ifndef CONVO_LIMITS_H
#define CONVO_LIMITS_H

/* HTTP (net/http.c) */
#define HTTP_MAX_HEADER_BYTES  (16 * 1024) /* request line + headers; over → 431 */
#define HTTP_MAX_HEADERS       100         /* header lines; over → 431 */
#define HTTP_MAX_BODY_BYTES    (64 * 1024) /* body; over → 413 */
#define HTTP_HEADER_TIMEOUT_MS 10000       /* first byte of a request → end of its headers */
#define HTTP_BODY_TIMEOUT_MS   10000       /* longest silence while a body is arriving */
#define HTTP_IDLE_TIMEOUT_MS   30000       /* keep-alive connection with no request */
#define HTTP_WRITE_TIMEOUT_MS  30000       /* a response the client does not read */
#define HTTP_OUTPUT_HIGH_WATER                                                                     \
    (256 * 1024)                          /* pending output; above it no new request is parsed     \
                                           */
#define HTTP_LINGER_MS               2000 /* after an error reply, read and discard this long */
#define HTTP_LINGER_MAX_BYTES        (1024 * 1024) /* … or this many bytes, then close */
#define HTTP_READ_BUFFER             65536         /* bytes read from a socket at once */
#define HTTP_SPARE_REQUEST_MAX_BYTES 8192  /* buffers a finished request may keep for reuse */
#define HTTP_SWEEP_INTERVAL_MS       250   /* how often deadlines are checked (their precision) */
#define HTTP_DEFAULT_MAX_CONNECTIONS 10000 /* open connections; over → 503 and close */

/* WebSocket (net/ws.c), SPEC §4 */
#define WS_MAX_MESSAGE_BYTES   (16 * 1024)   /* a bigger message → close 1009 */
#define WS_PING_INTERVAL_MS    25000         /* the server pings this often */
#define WS_SILENCE_TIMEOUT_MS  60000         /* nothing received this long → dropped */
#define WS_OUTPUT_SOFT_LIMIT   (256 * 1024)  /* queued output above this … */
#define WS_OUTPUT_SOFT_SECONDS 10            /* … for this long → the slow reader is dropped */
#define WS_OUTPUT_HARD_LIMIT   (1024 * 1024) /* queued output above this → dropped at once */

/* Log-in brute force (api/auth.c), SPEC §3.2 */
#define LOGIN_FAILS_PER_EMAIL    10               /* failed log-ins for one email … */
#define LOGIN_FAILS_WINDOW_MS    (15 * 60 * 1000) /* … in 15 minutes */
#define LOGIN_ATTEMPTS_PER_IP    30               /* log-in attempts from one address … */
#define LOGIN_ATTEMPTS_WINDOW_MS (60 * 1000)      /* … in one minute */
#define SIGNUPS_PER_IP           30               /* sign-ups from one address … */
#define SIGNUPS_WINDOW_MS        (10 * 60 * 1000) /* … in ten minutes */
#define LOGIN_LIMITER_KEYS       65536            /* keys each limiter remembers (LRU beyond) */

/* Process (main.c) */
#define SHUTDOWN_DEADLINE_MS                                                                       \
    8000 /* SIGTERM → forced close of what is left (SPEC: exit in 10 s)                          \
          */

#endif
