/* ws.h — WebSocket connections (RFC 6455) on top of an upgraded http_conn, framed by wslay.
 *
 * ws_accept checks the handshake and switches the connection; complete text messages reach
 * on_text; the server pings every WS_PING_INTERVAL_MS and drops a peer silent for
 * WS_SILENCE_TIMEOUT_MS; messages over WS_MAX_MESSAGE_BYTES close 1009; binary messages close
 * 1003; a reader whose queued output passes the limits of limits.h is dropped. Outgoing text is
 * queued per connection and leaves with the HTTP layer's once-per-turn flush.
 * on_close fires exactly once, from the close callback (never inside a handler's own call).
 */
#ifndef CONVO_WS_H
#define CONVO_WS_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

typedef struct ws_conn ws_conn;

struct ws_handlers {
    void (*on_text)(void *ctx, const char *data, size_t len);
    void (*on_deadline)(void *ctx, uint64_t now_ms); /* the owner's deadline (ws_set_deadline) */
    void (*on_shutdown)(void *ctx);                  /* the server is stopping */
    void (*on_close)(void *ctx);                     /* gone: free ctx here */
};

/* Checks the upgrade request (GET, Upgrade: websocket, Connection: upgrade, version 13, a valid
 * key), answers 101 and returns the connection. On a bad handshake answers 400 in the §3.1 shape
 * (with Sec-WebSocket-Version: 13 for another version) and returns NULL; handlers never fire. */
ws_conn *ws_accept(http_request *req, const struct ws_handlers *h, void *ctx);

/* Queues one text message. Returns 0, or -1 when the connection is closing or was just dropped
 * for being too slow (on_close follows). */
int ws_send_text(ws_conn *ws, const char *data, size_t len);

/* Sends a close frame with code and a short reason, then closes once it is written. */
void ws_close(ws_conn *ws, uint16_t code, const char *reason);

/* The owner's own deadline, in loop time (ms; 0 = none): on_deadline fires once it passes. */
void ws_set_deadline(ws_conn *ws, uint64_t deadline_ms);
uint64_t ws_now(const ws_conn *ws);
int ws_is_closing(const ws_conn *ws);

/* 1 while wslay holds input of this connection (a frame context exists: a frame is partly
 * read); 0 between frames, when an idle connection keeps no input buffer. For tests. */
int ws_holds_input(const ws_conn *ws);

/* The Sec-WebSocket-Accept value for key (28 characters + NUL into out). */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

#endif
