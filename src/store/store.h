/* store.h — the storage interface that api/ and rt/ use; nothing above it knows the backend.
 *
 * Every call is asynchronous: it queues a job and returns at once; the job runs on the store's own
 * thread (SQLite) and its callback fires later on the loop thread. A call that returns an error
 * never fires its callback. Writes queued together are committed in one transaction (group
 * commit), so a burst of chat messages costs one fsync. Results passed to callbacks are owned by
 * the store and valid only during the callback; copy what you keep.
 *
 * Threading: call every function from the loop thread only. Callbacks fire on the loop thread in
 * the order the calls were made. The store keeps the loop alive (a referenced uv_async_t) only
 * while jobs are in flight or a shutdown is under way, like a libuv request.
 */
#ifndef CONVO_STORE_H
#define CONVO_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct store store;

/* Status codes passed to callbacks and returned by calls (0 = success). */
enum store_status {
    STORE_OK = 0,
    STORE_ERR_NOT_FOUND = -1,   /* the row the call names does not exist */
    STORE_ERR_CONFLICT = -2,    /* a unique constraint would be broken */
    STORE_ERR_UNAVAILABLE = -3, /* the backend failed (I/O, locked, connection lost) */
    STORE_ERR_CLOSED = -4,      /* the store is shutting down; no new jobs */
    STORE_ERR_INVALID = -5,     /* bad argument (NULL, empty, too long) */
    STORE_ERR_NOMEM = -6,
};

/* Limits enforced at the store boundary. */
#define STORE_QUEUE_MAX         65536 /* queued jobs before calls answer STORE_ERR_UNAVAILABLE */
#define STORE_BATCH_MAX         1024  /* jobs committed together in one transaction at most */
#define STORE_CATEGORY_MAX      64    /* bytes in a chat category */
#define STORE_CLIENT_MSG_ID_MAX 128   /* bytes in a client message id */
#define STORE_TEXT_MAX          8192  /* bytes in a message text (2000 characters of UTF-8 fit) */

/* A stored chat message. Strings are NUL-terminated. */
typedef struct store_message {
    int64_t id;
    int64_t chat_id;
    int64_t seq; /* 1, 2, 3… per chat, no gaps */
    int64_t sender_id;
    const char *client_msg_id;
    const char *text;
    int64_t sent_at_ms; /* Unix epoch milliseconds, UTC */
    int duplicate; /* 1 when (chat, sender, client_msg_id) was already stored: this is that row */
} store_message;

typedef struct store_chat {
    int64_t id;
    const char *category;
    int64_t user_a;
    int64_t user_b;
    int64_t started_at_ms;
    int64_t ended_at_ms; /* 0 while active */
    int64_t last_seq;
} store_chat;

typedef void (*store_status_cb)(int status, void *arg);
typedef void (*store_message_cb)(int status, const store_message *msg, void *arg);
typedef void (*store_chat_cb)(int status, const store_chat *chat, void *arg);

/* Opens the store named by url ("sqlite:PATH"), creates it when missing and applies every pending
 * migration before returning. Blocking: call it before the loop runs. On failure writes a one-line
 * reason into err and returns a negative store_status: STORE_ERR_INVALID (unknown scheme, empty
 * path), STORE_ERR_UNAVAILABLE (cannot open, migration failed), STORE_ERR_NOMEM. */
int store_open(uv_loop_t *loop, const char *url, store **out, char *err, size_t errlen);

/* Stops taking jobs (later calls answer STORE_ERR_CLOSED), finishes every queued one (their
 * callbacks fire), closes the backend and its handle, then calls done (status STORE_OK, may be
 * NULL) on the loop. A second call is ignored. After done fires, store_free releases everything
 * (store_free(NULL) does nothing; never call it on a store that was not shut down). */
void store_shutdown(store *s, store_status_cb done, void *arg);
void store_free(store *s);

/* Every call below returns 0 when the job is queued, or STORE_ERR_INVALID (bad argument),
 * STORE_ERR_CLOSED (after store_shutdown), STORE_ERR_UNAVAILABLE (STORE_QUEUE_MAX jobs in flight)
 * or STORE_ERR_NOMEM; the callback then never fires. The callback's status is one of the codes
 * each call lists, or STORE_ERR_UNAVAILABLE when the backend or the batch's commit failed; the
 * chat or message pointer is NULL unless the status is STORE_OK. A NULL callback is allowed. */

/* Checks that the backend answers (a trivial query). STORE_OK or STORE_ERR_UNAVAILABLE. */
int store_ping(store *s, store_status_cb cb, void *arg);

/* Creates an active chat between two users in a category (1..STORE_CATEGORY_MAX bytes; the two
 * users differ). The chat passed to cb has last_seq 0 and ended_at_ms 0. */
int store_chat_create(store *s, const char *category, int64_t user_a, int64_t user_b,
                      store_chat_cb cb, void *arg);

/* Appends a message to a chat: assigns the next seq and the time, durably commits, then calls cb.
 * Idempotent per (chat_id, sender_id, client_msg_id): a repeat answers the stored row with
 * duplicate = 1 (its stored text, seq and time). STORE_ERR_NOT_FOUND when the chat does not exist.
 * client_msg_id: 1..STORE_CLIENT_MSG_ID_MAX bytes; text: 1..STORE_TEXT_MAX bytes. */
int store_message_append(store *s, int64_t chat_id, int64_t sender_id, const char *client_msg_id,
                         const char *text, store_message_cb cb, void *arg);

/* Test and metrics hooks: transactions committed and jobs run since open, and migrations that
 * store_open applied (0 when the schema was already current). */
uint64_t store_commits(const store *s);
uint64_t store_jobs(const store *s);
uint64_t store_migrations_applied(const store *s);

#endif
