/* api.h — what every api/ handler shares: the auth middleware (Bearer token → claims, or the
 * §3.1 error), the USER JSON shape, body-field readers that collect 422 "fields", the mapping from
 * store status to error code, and the client's address. Handlers answer through net/http_reply.h.
 */
#ifndef CONVO_API_H
#define CONVO_API_H

#include <jansson.h>
#include <stdint.h>

#include "app.h"
#include "auth/jwt.h"
#include "net/http.h"
#include "store/store.h"
#include "util/buf.h"

#define API_CLIENT_IP_MAX 64

/* Checks Authorization: Bearer <jwt>. Returns 0 and fills claims, or answers TOKEN_MISSING /
 * TOKEN_INVALID / TOKEN_EXPIRED and returns -1. */
int api_authenticate(http_request *req, struct app *app, struct jwt_claims *claims);

/* "admin" when the email is in CONVO_ADMIN_EMAILS, else "user". */
const char *api_role_for(const struct app *app, const char *email);

/* An id as the API writes it: a decimal string (new reference). */
json_t *api_id_json(int64_t id);
/* A time as RFC 3339 UTC, or null when ms <= 0 (new reference). */
json_t *api_time_json(int64_t ms);
/* MESSAGE of SPEC §3.3: {id, chatId, seq, senderId, text, sentAt} — the one shape for REST
 * history and WebSocket frames, written as JSON text (the hot path: every message) … */
void api_message_write(buf *b, const store_message *m);
/* … a JSON array of them … */
void api_messages_write(buf *b, const store_message *msgs, size_t count);
/* … or as a jansson value, parsed from that text (new reference; NULL out of memory). */
json_t *api_message_json(const store_message *m);
/* Any JSON value as compact text (a client's "ref" echoed into a frame written as text). */
void api_json_write(buf *b, const json_t *v);

/* USER of SPEC §3.3 (new reference). */
json_t *api_user_json(const struct app *app, const store_user *u);

/* RFC 3339 UTC with milliseconds ("2026-11-24T08:00:00.000Z") into out (≥ 25 bytes). */
void api_format_time(int64_t ms, char *out, size_t outlen);

/* Reads a string member. Returns the string, or NULL: when absent (and required, adds
 * "REQUIRED" to fields) or not a string (adds "INVALID"). */
const char *api_body_string(json_t *body, const char *key, int required, json_t *fields);

/* Answers 422 VALIDATION_FAILED with fields when it has any member (then returns -1; steals
 * fields either way). Returns 0 when fields is empty. */
int api_reply_if_invalid(http_request *req, json_t *fields);

/* "Cache-Control: no-store": for answers that carry tokens or personal data. */
#define API_NO_STORE "Cache-Control: no-store\r\n"

/* 503 UNAVAILABLE (Retry-After: 1) when the password hashing queue is full; counted. */
void api_reply_busy(http_request *req);

/* Answers the error that a failed store call means (UNAVAILABLE with Retry-After, INTERNAL). */
void api_reply_store_error(http_request *req, int store_status);

/* The client's address: the peer, or X-Real-IP when the peer is on loopback (a local proxy such
 * as nginx, which must set the header) and the header is a valid IPv4/IPv6 address. */
void api_client_ip(const http_request *req, char out[API_CLIENT_IP_MAX]);

/* Unix seconds / milliseconds, wall clock. */
int64_t api_now_s(void);
int64_t api_now_ms(void);

#endif
