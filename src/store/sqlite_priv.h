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

/* The chat history and safety statements and jobs (sqlite_chats.c), in the same shape; their
 * reads of messages and last seqs also consult the appender's unfolded rows. */
typedef struct sqlite_messages sqlite_messages;
typedef struct sqlite_checkpointer sqlite_checkpointer;
typedef struct sqlite_chats sqlite_chats;

int sqlite_chats_open(sqlite3 *db, sqlite_messages *messages, sqlite_chats **out, char *err,
                      size_t errlen);
void sqlite_chats_close(sqlite_chats *c);
int sqlite_chats_run(sqlite_chats *c, store_job *job);

/* Message appends through the message log (sqlite_messages.c, sqlite_fold.c, sqlite_msg.h). */
/* Replays into the table the message log files a previous run left and starts new ones. The
 * caller (sqlite.c) holds the database's lock file: no other process uses the log. */
int sqlite_messages_open(sqlite3 *db, const char *path, sqlite_messages **out, char *err,
                         size_t errlen);
/* Stops the folder (with ckpt, the checkpointer it is hooked to), folds every logged row into the
 * table, removes the log files (kept when that fails: they are replayed at the next open), frees
 * m. NULL does nothing. */
void sqlite_messages_close(sqlite_messages *m, sqlite_checkpointer *ckpt);
/* Appends jobs (a list of STORE_JOB_MESSAGE_APPEND) with one write and fdatasync of the log, and
 * sets each job's status: STORE_OK (a new row, or the stored row of a repeated clientMsgId),
 * STORE_ERR_NOT_FOUND (no such chat) or STORE_ERR_UNAVAILABLE (the log could not be written). */
void sqlite_messages_append_batch(sqlite_messages *m, store_job *jobs);
/* Starts the folder thread (after the checkpointer: its connection is hooked to it). */
int sqlite_messages_start_folder(sqlite_messages *m, sqlite_checkpointer *ckpt, char *err,
                                 size_t errlen);
/* One short step of folding the log into the table (sealing a file, handing it to the folder,
 * freeing what it folded). Returns the milliseconds until the next step is due: 0 at once, -1
 * not before more appends. */
int sqlite_messages_fold_step(sqlite_messages *m);
/* Messages appended but not yet folded into the table (store thread). */
uint64_t sqlite_messages_unfolded(const sqlite_messages *m);
/* Around every write transaction of the store's connection: the folder's connection writes too. */
void sqlite_messages_lock_writes(sqlite_messages *m);
void sqlite_messages_unlock_writes(sqlite_messages *m);

/* Reads that must see rows not yet folded (sqlite_chats.c). last_seq: the chat's highest seq when
 * known to the appender, else 0. unfolded_after: pushes onto job->list, in seq order, at most
 * limit unfolded rows of the chat with seq > after_seq. patch_summary: raises a summary's last
 * seq and last message to the chat's newest unfolded row. STORE_OK or STORE_ERR_NOMEM. */
int64_t sqlite_messages_last_seq(sqlite_messages *m, int64_t chat_id);
int sqlite_messages_unfolded_after(sqlite_messages *m, store_job *job, int64_t chat_id,
                                   int64_t after_seq, size_t limit);
int sqlite_messages_patch_summary(sqlite_messages *m, store_job *job, store_chat_summary *c);

/* Checkpoints on a thread of their own (sqlite_checkpoint.c). start turns the writer's automatic
 * checkpoints off and hooks its commits; stop (before the writer closes) unhooks, joins the
 * thread, closes its connection and returns how many checkpoints it ran. stop(NULL) does nothing.
 */

int sqlite_checkpointer_start(sqlite3 *writer, const char *path, sqlite_checkpointer **out,
                              char *err, size_t errlen);
/* Hooks (attach) or unhooks (detach) another connection that writes, as the writer is: its
 * commits must be serialized with the writer's (they share the hook's state). */
void sqlite_checkpointer_attach(sqlite3 *writer, sqlite_checkpointer *c);
void sqlite_checkpointer_detach(sqlite3 *writer);
void sqlite_checkpointer_stop(sqlite3 *writer, sqlite_checkpointer *c);

#endif
