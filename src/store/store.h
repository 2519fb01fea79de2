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
#define STORE_QUEUE_MAX     65536 /* queued jobs before calls answer STORE_ERR_UNAVAILABLE */
#define STORE_BATCH_MAX     1024  /* jobs committed together in one transaction at most */
#define STORE_SEQ_CACHE_MAX 65536 /* chats whose last seq the writer caches (idle ones dropped) */
/* Rows logged but not yet folded: the active file and the one being folded (each up to a few
 * seconds of messages, sqlite_fold.c), with room for folds that fall behind for a while. */
#define STORE_UNFOLDED_MAX 1048576 /* messages logged but not yet in the table, at most … */
#define STORE_UNFOLDED_BYTES_MAX                                                                   \
    (256 << 20)                      /* … and their memory: appends answer UNAVAILABLE past */
#define STORE_CATEGORY_MAX      64   /* bytes in a chat category */
#define STORE_CLIENT_MSG_ID_MAX 128  /* bytes in a client message id */
#define STORE_TEXT_MAX          8192 /* bytes in a message text (2000 characters of UTF-8 fit) */

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

/* ---- accounts (the auth issue) ---- */

#define STORE_EMAIL_MAX      254  /* bytes */
#define STORE_HASH_MAX       256  /* bytes in a password hash string (argon2id encoded) */
#define STORE_NICKNAME_MAX   128  /* bytes (20 characters of UTF-8 fit) */
#define STORE_BIO_MAX        2048 /* bytes */
#define STORE_TOKEN_HASH_LEN 64   /* hex SHA-256 of a refresh token */
#define STORE_FAMILY_MAX     64   /* bytes in a refresh family id */

/* An account. Emails are unique case-insensitively (ASCII letters folded by the store). */
typedef struct store_user {
    int64_t id;
    const char *email;         /* as the user typed it at sign-up */
    const char *password_hash; /* NULL for an account with no password (Google only) */
    const char *google_sub;    /* NULL when Google is not linked */
    const char *nickname;
    const char *job;    /* NULL when unset */
    const char *career; /* NULL when unset */
    const char *bio;    /* NULL when unset */
    int64_t created_at_ms;
    int64_t banned_until_ms; /* 0 = not banned */
    const char *ban_reason;  /* NULL when not banned */
} store_user;

typedef void (*store_user_cb)(int status, const store_user *user, void *arg);

/* Argument checks (else STORE_ERR_INVALID): user ids > 0; email 1..STORE_EMAIL_MAX bytes,
 * password_hash 1..STORE_HASH_MAX, nickname 1..STORE_NICKNAME_MAX, family 1..STORE_FAMILY_MAX;
 * token hashes exactly STORE_TOKEN_HASH_LEN lowercase hex digits. */

/* Creates a password account. STORE_ERR_CONFLICT when the email exists in any letter case: the
 * callback then receives the EXISTING account (so the caller can tell a password account from a
 * Google-only one). */
int store_user_create(store *s, const char *email, const char *password_hash, const char *nickname,
                      store_user_cb cb, void *arg);
/* Looks an account up by email (any letter case) or id. STORE_ERR_NOT_FOUND when absent. */
int store_user_by_email(store *s, const char *email, store_user_cb cb, void *arg);
int store_user_by_id(store *s, int64_t id, store_user_cb cb, void *arg);

/* Profile fields to change: a NULL nickname keeps it (else 1..STORE_NICKNAME_MAX bytes); set_* = 1
 * writes the matching value, where NULL clears it and a string is stored as given, "" included
 * (job and career at most STORE_CATEGORY_MAX bytes, bio STORE_BIO_MAX; longer is
 * STORE_ERR_INVALID). The callback receives the updated account. */
struct store_profile_update {
    const char *nickname;
    int set_job, set_career, set_bio;
    const char *job, *career, *bio;
};
int store_user_update_profile(store *s, int64_t id, const struct store_profile_update *u,
                              store_user_cb cb, void *arg);

/* Replaces the password hash and, in the same transaction, revokes every refresh family of the
 * user except keep_family (NULL = revoke all). STORE_ERR_NOT_FOUND when the user is gone. */
int store_user_set_password(store *s, int64_t id, const char *password_hash,
                            const char *keep_family, store_status_cb cb, void *arg);

/* Deletes the account, its refresh tokens and every block it is part of (either side). Chats,
 * messages and reports stay (their user ids then name nobody: "deleted user").
 * STORE_ERR_NOT_FOUND when already gone. */
int store_user_delete(store *s, int64_t id, store_status_cb cb, void *arg);

/* ---- refresh tokens: only their SHA-256 (hex) is stored, grouped in families ---- */

enum store_refresh_outcome {
    STORE_REFRESH_ROTATED = 1, /* the token was current: it is now rotated */
    STORE_REFRESH_GRACE = 2,   /* rotated less than grace_ms ago (tabs racing): a sibling issued */
};
#define STORE_ERR_REFRESH_REUSED (-7) /* rotated grace_ms or longer ago: family revoked now */
#define STORE_REFRESH_GRACE_MAX  1 /* grace siblings one rotated token may produce; more = reuse */

typedef struct store_refresh_result {
    int outcome;        /* enum store_refresh_outcome */
    const char *family; /* the family the new token joined */
    store_user user;    /* the token's owner */
} store_refresh_result;

typedef void (*store_refresh_cb)(int status, const store_refresh_result *r, void *arg);

/* Stores a new token (token_hash, STORE_TOKEN_HASH_LEN hex chars) in family, a new family when
 * the id is new; it expires at expires_at_ms. STORE_ERR_CONFLICT when the hash exists,
 * STORE_ERR_NOT_FOUND when the user does not. */
int store_refresh_issue(store *s, int64_t user_id, const char *family, const char *token_hash,
                        int64_t expires_at_ms, store_status_cb cb, void *arg);

/* Rotates old_hash: when it is current (not rotated, not revoked, not expired, owner exists),
 * marks it rotated now and stores new_hash in the same family expiring ttl_ms from now
 * (STORE_OK, outcome ROTATED). When it was rotated less than grace_ms ago and has produced
 * fewer than STORE_REFRESH_GRACE_MAX siblings, stores new_hash the same way (STORE_OK, outcome
 * GRACE; grace_ms 0 disables the window). When it was rotated longer ago, or its siblings are
 * used up, revokes every token of its family (STORE_ERR_REFRESH_REUSED; the revocation is
 * committed). Unknown, expired or revoked tokens, and tokens of a deleted account:
 * STORE_ERR_NOT_FOUND. All in one transaction. ttl_ms > 0, grace_ms >= 0, new_hash differs.
 * r is non-NULL with STORE_OK, and with STORE_ERR_REFRESH_REUSED (outcome 0, the revoked family
 * and its owner, for the security log); NULL otherwise. */
int store_refresh_rotate(store *s, const char *old_hash, const char *new_hash, int64_t ttl_ms,
                         int64_t grace_ms, store_refresh_cb cb, void *arg);

/* Revokes the family of token_hash (STORE_ERR_NOT_FOUND when the token is unknown). */
int store_refresh_revoke_family(store *s, const char *token_hash, store_status_cb cb, void *arg);
/* Revokes every token of the user (STORE_OK even when there were none). */
int store_refresh_revoke_user(store *s, int64_t user_id, store_status_cb cb, void *arg);

/* ---- chats, history, safety (the real-time issue) ---- */

#define STORE_PAGE_MAX          100  /* rows one list call returns at most */
#define STORE_END_REASON_MAX    32   /* bytes in an end reason */
#define STORE_REPORT_DETAIL_MAX 2000 /* bytes in a report's free text */

/* A participant as a partner sees them. nickname NULL: the account was deleted (job and career
 * are then NULL too). */
typedef struct store_partner {
    int64_t id;
    const char *nickname;
    const char *job;
    const char *career;
} store_partner;

/* One chat in a user's history (CHAT_SUMMARY), or the user's active chat. */
typedef struct store_chat_summary {
    int64_t id;
    const char *category;
    int64_t viewer_id; /* the user from whose side this summary is told */
    store_partner partner;
    int64_t started_at_ms;
    int64_t ended_at_ms; /* 0 while active */
    int64_t last_seq;
    int64_t my_read_seq;               /* the highest seq this user marked read */
    int64_t partner_read_seq;          /* the highest seq the partner marked read */
    const store_message *last_message; /* NULL when no message */
} store_chat_summary;

/* What rt/ needs when a user's socket authenticates. */
typedef struct store_user_context {
    const store_chat_summary *active_chat; /* NULL when none */
    int64_t previous_partner; /* partner of the most recent chat, active or ended; 0 = none */
    const int64_t *blocked;   /* ids this user blocked, ascending (NULL when blocked_count is 0) */
    size_t blocked_count;
    int64_t banned_until_ms; /* as stored, even when past; 0 = never banned */
} store_user_context;

typedef void (*store_context_cb)(int status, const store_user_context *ctx, void *arg);
typedef void (*store_chat_list_cb)(int status, const store_chat_summary *chats, size_t count,
                                   void *arg);
typedef void (*store_message_list_cb)(int status, const store_message *msgs, size_t count,
                                      void *arg);

/* List callbacks get the rows and their count with STORE_OK (the array may be NULL when count is
 * 0), NULL and 0 otherwise. Argument checks (else STORE_ERR_INVALID): ids > 0 (ended_by and the
 * before_id / after_seq / up_to_seq values >= 0), limits as each call says, strings as the
 * STORE_*_MAX limits say. */

/* Active chat (the newest chat with ended_at NULL: a user has at most one by the rules), previous
 * partner, blocks and ban of a user (STORE_ERR_NOT_FOUND: no such user). */
int store_user_context_load(store *s, int64_t user_id, store_context_cb cb, void *arg);

/* Every chat still active (ended_at NULL), oldest first and not paged (active chats are at most
 * half the users), for rt/ to rebuild its state after a restart: the summaries are given from
 * user_a's side (partner = user_b, my_read_seq = user_a's). */
int store_chats_active(store *s, store_chat_list_cb cb, void *arg);

/* Ends an active chat: ended_at = now, end_reason (1..STORE_END_REASON_MAX bytes), ended_by (the
 * user whose action or absence ended it, not checked against the chat; 0 = none, stored NULL).
 * STORE_ERR_NOT_FOUND when the chat does not exist or has already ended. */
int store_chat_end(store *s, int64_t chat_id, int64_t ended_by, const char *reason,
                   store_status_cb cb, void *arg);

/* Records that user read chat_id up to seq: the mark only grows and never exceeds the chat's
 * last_seq (a larger up_to_seq counts as last_seq). Ended chats too. STORE_ERR_NOT_FOUND when the
 * chat does not exist or user_id is not one of its two users. */
int store_chat_mark_read(store *s, int64_t chat_id, int64_t user_id, int64_t up_to_seq,
                         store_status_cb cb, void *arg);

/* The user's chats, newest first (by id), with id < before_id (0 = from the newest), at most
 * limit (1..STORE_PAGE_MAX). */
int store_chats_for_user(store *s, int64_t user_id, int64_t before_id, size_t limit,
                         store_chat_list_cb cb, void *arg);

/* Messages of chat_id with seq > after_seq, ascending, at most limit (1..STORE_PAGE_MAX * 10).
 * STORE_ERR_NOT_FOUND when the chat does not exist or user_id is not one of its two users. */
int store_messages_after(store *s, int64_t chat_id, int64_t user_id, int64_t after_seq,
                         size_t limit, store_message_list_cb cb, void *arg);

/* A report on the partner of chat_id by reporter (active or ended chat). STORE_ERR_NOT_FOUND when
 * the chat does not exist or reporter is not in it. reason: spam, abuse, sexual, scam, other
 * (checked by the caller; 1..STORE_END_REASON_MAX bytes); detail: NULL, or at most
 * STORE_REPORT_DETAIL_MAX bytes ("" is stored as given). */
int store_report_create(store *s, int64_t chat_id, int64_t reporter, const char *reason,
                        const char *detail, store_status_cb cb, void *arg);

typedef struct store_report {
    int64_t id;
    int64_t chat_id;
    int64_t reporter_id;
    int64_t reported_id;
    const char *reason;
    const char *detail; /* NULL when none */
    int64_t created_at_ms;
} store_report;
typedef void (*store_report_list_cb)(int status, const store_report *reports, size_t count,
                                     void *arg);
/* Reports newest first with id < before_id (0 = newest), at most limit (1..STORE_PAGE_MAX). */
int store_reports_list(store *s, int64_t before_id, size_t limit, store_report_list_cb cb,
                       void *arg);

/* Blocks: blocker no longer meets blocked (two different users). put is idempotent (STORE_OK
 * again, the first time kept) and answers STORE_ERR_NOT_FOUND when blocked or blocker is not a
 * user; delete answers STORE_OK even when there was no block (or no such user). */
int store_block_put(store *s, int64_t blocker, int64_t blocked, store_status_cb cb, void *arg);
int store_block_delete(store *s, int64_t blocker, int64_t blocked, store_status_cb cb, void *arg);
/* The users blocker blocked, newest first (ties: higher id first), not paged (partner rows: id,
 * nickname, job, career). STORE_OK with none for an unknown blocker. */
typedef void (*store_partner_list_cb)(int status, const store_partner *users, size_t count,
                                      void *arg);
int store_blocks_list(store *s, int64_t blocker, store_partner_list_cb cb, void *arg);

/* Bans a user until until_ms (> 0) with a reason (1..STORE_REPORT_DETAIL_MAX bytes); a later ban
 * replaces an earlier one. Refresh tokens stay (a refresh then answers BANNED with the end date);
 * it does not end the user's chat (rt/ does). STORE_ERR_NOT_FOUND when the user does not exist. */
int store_user_ban(store *s, int64_t user_id, int64_t until_ms, const char *reason,
                   store_status_cb cb, void *arg);

/* Test and metrics hooks: transactions committed and jobs run since open, messages acknowledged
 * but not yet in their table (as of the store thread's last step), and migrations that
 * store_open applied (0 when the schema was already current). */
uint64_t store_commits(const store *s);
uint64_t store_jobs(const store *s);
uint64_t store_unfolded(const store *s);
uint64_t store_migrations_applied(const store *s);

#endif
