/* sqlite_priv.h — private to the SQLite backend: the helpers sqlite.c shares with
 * sqlite_accounts.c (accounts and refresh tokens) and sqlite_chats.c (chat history and safety),
 * and those modules' entry points.
 *
 * Everything here runs on the store thread (or in store_open before the loop runs). Parameters
 * are written $1, $2… and bound by name, as sqlite.c explains.
 */
#ifndef CONVO_STORE_SQLITE_PRIV_H
#define CONVO_STORE_SQLITE_PRIV_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_backend.h"

/* Bind a value to parameter $n; a NULL string binds SQL NULL. SQLite result codes. */
int sqlite_bind_i64(sqlite3_stmt *st, int n, int64_t v);
int sqlite_bind_text(sqlite3_stmt *st, int n, const char *v);

/* Prepares count persistent statements, checking each uses exactly $1..$N. On failure writes a
 * reason into err, finalizes nothing (the caller finalizes the array) and returns
 * STORE_ERR_UNAVAILABLE. */
int sqlite_prepare_list(sqlite3 *db, const char *const *sql, sqlite3_stmt **out, int count,
                        char *err, size_t errlen);

/* Ends one use of a cached statement: resets it, clears its bindings, logs a failure and returns
 * rc (an SQLite result code) as a store_status. */
int sqlite_finish(sqlite3_stmt *st, int rc);

/* Step a bound statement whose binding answered rc once, then finish it. sqlite_step_row:
 * STORE_OK when it answered a row, STORE_ERR_NOT_FOUND when not. sqlite_step_done: for a
 * statement that answers no row. */
int sqlite_step_row(sqlite3_stmt *st, int rc);
int sqlite_step_done(sqlite3_stmt *st, int rc);

/* The account and refresh-token statements and jobs (sqlite_accounts.c). */
typedef struct sqlite_accounts sqlite_accounts;

int sqlite_accounts_open(sqlite3 *db, sqlite_accounts **out, char *err, size_t errlen);
/* Finalizes the statements (before the connection closes) and frees a. NULL does nothing. */
void sqlite_accounts_close(sqlite_accounts *a);
/* Runs one account or refresh-token job inside the caller's savepoint; returns its status. */
int sqlite_accounts_run(sqlite_accounts *a, store_job *job);

/* The chat history and safety statements and jobs (sqlite_chats.c), in the same shape. */
typedef struct sqlite_chats sqlite_chats;

int sqlite_chats_open(sqlite3 *db, sqlite_chats **out, char *err, size_t errlen);
void sqlite_chats_close(sqlite_chats *c);
int sqlite_chats_run(sqlite_chats *c, store_job *job);

/* Message appends (sqlite_messages.c): one statement per message, seqs from a cache. */
typedef struct sqlite_messages sqlite_messages;

int sqlite_messages_open(sqlite3 *db, sqlite_messages **out, char *err, size_t errlen);
void sqlite_messages_close(sqlite_messages *m);
/* Appends job->row.message (sent at now_ms) with the chat's next seq, or answers the stored row
 * of a repeated (chat, sender, clientMsgId). Runs without a savepoint: a failed append changes
 * nothing. STORE_ERR_NOT_FOUND when the chat does not exist. */
int sqlite_messages_append(sqlite_messages *m, store_job *job, int64_t now_ms);
/* Writes chats.last_seq of every chat the open batch appended to. */
int sqlite_messages_flush(sqlite_messages *m);
/* After a batch that did not commit: the cached seqs are forgotten. */
void sqlite_messages_rollback(sqlite_messages *m);

/* Checkpoints on a thread of their own (sqlite_checkpoint.c). start turns the writer's automatic
 * checkpoints off and hooks its commits; stop (before the writer closes) unhooks, joins the
 * thread, closes its connection and returns how many checkpoints it ran. stop(NULL) does nothing.
 */
typedef struct sqlite_checkpointer sqlite_checkpointer;

int sqlite_checkpointer_start(sqlite3 *writer, const char *path, sqlite_checkpointer **out,
                              char *err, size_t errlen);
void sqlite_checkpointer_stop(sqlite3 *writer, sqlite_checkpointer *c);

#endif
