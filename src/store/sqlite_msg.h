/* sqlite_msg.h — private to sqlite_messages.c (appending through the message log, and the rows
 * not yet folded that reads must see) and sqlite_fold.c (folding the log into the messages table,
 * replaying it at open). Everything here runs on the store thread, or in store_open before it.
 *
 * A message is acknowledged once its record is in the active log file (msglog.h). Its row stays
 * in memory, on its chat's list of unfolded rows, until a fold inserts it into the table. A fold
 * starts when the active file is big or old enough: the file is sealed (a new one takes the
 * appends), every chat with rows in it is queued, and each step inserts all the unfolded rows
 * of a few chats in one transaction (no fsync). Once no unfolded row is left from the sealed file,
 * the database files are synced and the sealed file is removed. A chat's rows are always folded
 * together and in seq order, so the rows of a chat in memory are exactly its highest seqs.
 */
#ifndef CONVO_STORE_SQLITE_MSG_H
#define CONVO_STORE_SQLITE_MSG_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/msglog.h"
#include "store/sqlite_priv.h"
#include "util/buf.h"
#include "util/imap.h"

/* One message not yet folded; its strings live in bytes[]. */
struct log_row {
    struct log_row *next; /* the chat's next unfolded row (seq + 1) */
    size_t size;          /* bytes of this allocation */
    store_message m;
    char bytes[];
};

/* What the store knows of a chat that has had appends: its last seq and its unfolded rows. */
struct chat_state {
    int64_t chat_id;
    int64_t last_seq; /* the highest seq given out */
    struct log_row *first, *last;
    size_t rows;
};

enum msg_stmt_id {
    MSG_FIND,
    MSG_CHAT_LAST_SEQ,
    MSG_INSERT,
    MSG_RAISE_LAST_SEQ,
    MSG_LAST_ID,
    MSG_SET_LAST_ID,
    MSG_BEGIN_READ,
    MSG_BEGIN_WRITE,
    MSG_COMMIT,
    MSG_ROLLBACK,
    MSG_SYNC_NORMAL,
    MSG_SYNC_FULL,
    MSG_STMT_COUNT
};

struct sqlite_messages {
    sqlite3 *db;
    char *db_path;
    int lock_fd; /* "<db>.lock", flock'd: one process owns the database and its log */
    sqlite3_stmt *stmt[MSG_STMT_COUNT];
    imap *chats;             /* chat id → struct chat_state */
    size_t evict_at;         /* the map size at which idle states are dropped next */
    size_t unfolded_rows;    /* rows on every chat's list */
    size_t unfolded_bytes;   /* and their memory */
    int64_t last_id;         /* the highest message id handed out */
    msglog active;           /* the file appends go to */
    msglog sealed;           /* the file being folded (fd -1: none) */
    int64_t active_since_ms; /* when the active file got its first record (0: none yet) */
    int64_t sealed_last_id;  /* rows with ids up to this one are in the sealed file */
    int64_t *fold_queue;     /* chats whose rows are being folded */
    size_t fold_len, fold_at, fold_cap;
    buf batch;                   /* the records of the batch being appended */
    struct log_row **batch_rows; /* its new rows, in order, to undo a failed write */
    size_t batch_count, batch_cap;
    size_t appended;         /* rows appended since the last fold step */
    int log_broken;          /* a write failed and the file could not be cut back */
    uint64_t fold_conflicts; /* rows a fold found already stored (expected only at replay) */
};

/* Runs a cached statement with no parameters and no row (sqlite_messages.c). */
int sqlite_msg_exec(sqlite_messages *m, enum msg_stmt_id id);

/* Frees the first n unfolded rows of e (sqlite_messages.c). */
void sqlite_msg_drop_rows(sqlite_messages *m, struct chat_state *e, size_t n);

/* sqlite_fold.c: replays the log files left by the last run into the table and creates the
 * active file (at open); folds everything and removes the files (at close). */
int sqlite_fold_recover(sqlite_messages *m, char *err, size_t errlen);
void sqlite_fold_everything(sqlite_messages *m);

#endif
