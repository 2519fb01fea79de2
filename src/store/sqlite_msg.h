/* sqlite_msg.h — private to sqlite_messages.c (appending through the message log, and the rows
 * not yet folded that reads must see), sqlite_fold.c (sealing log files and handing them to the
 * folder, replaying them at open) and sqlite_folder.c (the folder thread). The first two run on
 * the store thread, or in store_open before it.
 *
 * A message is acknowledged once its record is in the active log file (msglog.h). Its row stays
 * in memory, on its chat's list of unfolded rows, until a fold has put it in the table durably.
 * A fold starts when the active file is big or old enough: the file is sealed (another one takes
 * the appends) and every row in memory — all from that file — goes to the folder thread in one
 * array, chat by chat. The folder inserts them on a connection of its own, in transactions of
 * about FOLDER_CHUNK_US committed without an fsync, makes them durable with one last small
 * transaction committed with an fsync, and makes the file ready to be the next active one. Then the
 * store thread frees those rows. Rows are immutable once made: the folder reads them while the
 * store thread goes on appending (it only links new rows after them). A chat's rows in memory are
 * always its highest seqs.
 *
 * Both connections write, one at a time: the store thread's batches and the folder's chunks take
 * the folder's write lock (sqlite_messages_lock_writes) around their transactions, so neither
 * waits in SQLite's busy handler.
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

/* One message not yet folded; its strings live in bytes[]. Immutable but for next. */
struct log_row {
    struct log_row *next;     /* the chat's next unfolded row (seq + 1) */
    struct log_row *same_key; /* the next row whose (chat, sender, clientMsgId) hashes alike */
    size_t size;              /* bytes of this allocation */
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
    MSG_LAST_ID,
    MSG_BEGIN_READ,
    MSG_COMMIT,
    MSG_STMT_COUNT
};

/* The statements that put rows into the table, on one connection (the folder's, or the store's
 * for the replay at open and the last fold at close). */
enum fold_stmt_id {
    FOLD_INSERT,
    FOLD_RAISE_LAST_SEQ,
    FOLD_SET_LAST_ID,
    FOLD_BEGIN,
    FOLD_COMMIT,
    FOLD_ROLLBACK,
    FOLD_SYNC_FULL,
    FOLD_SYNC_NORMAL,
    FOLD_STMT_COUNT
};

struct fold_stmts {
    sqlite3 *db;
    sqlite3_stmt *stmt[FOLD_STMT_COUNT];
    int warn_conflicts; /* the folder's: a row already stored there would be a bug */
    int sync_normal;    /* the connection commits with synchronous = NORMAL (the folder's) */
    uint64_t conflicts; /* rows found already stored */
};

typedef struct sqlite_folder sqlite_folder;

struct sqlite_messages {
    sqlite3 *db;
    char *db_path;
    sqlite3_stmt *stmt[MSG_STMT_COUNT];
    struct fold_stmts fold; /* on the store's connection: replay and the last fold */
    sqlite_folder *folder;  /* NULL until sqlite_messages_start_folder */
    imap *chats;            /* chat id → struct chat_state */
    imap *by_key;         /* hash of (chat, sender, clientMsgId) → rows with that hash: retries */
    size_t evict_at;      /* the map size at which idle states are dropped next */
    size_t unfolded_rows; /* rows on every chat's list */
    size_t unfolded_bytes; /* and their memory */
    int64_t last_id;       /* the highest message id handed out */
    msglog active;         /* the file appends go to */
    msglog spare;          /* the next active file, made ready beforehand (fd -1: none) */
    msglog failed;         /* a sealed file whose fold failed, to submit again … */
    int64_t retry_at_ms;   /* … at this time */
    int folding;           /* the folder holds the sealed file and its rows */
    int fold_big;   /* that fold was sealed by size (heavy load): its writes hurry throughout */
    int fold_retry; /* that fold failed once: it hurries until it is done */
    int64_t active_since_ms;      /* when the active file got its first record (0: none yet) */
    int64_t sealed_last_id;       /* rows with ids up to this one are in the sealed file */
    struct log_row **sealed_rows; /* what the folder is folding (it sorts them chat by chat) */
    size_t sealed_count, sealed_cap;
    int dropping; /* the fold is done: its rows are being freed, from sealed_rows[drop_at] */
    size_t drop_at;
    buf batch;                   /* the records of the batch being appended */
    struct log_row **file_rows;  /* the active file's rows, in append order: a seal hands them */
    size_t file_count, file_cap; /* over as they are; the batch's are the last ones, from … */
    size_t batch_start;          /* … here, taken back out if its write fails */
    int log_broken;              /* a write failed and the file could not be cut back */
};

/* Frees the first n unfolded rows of e (sqlite_messages.c). */
void sqlite_msg_drop_rows(sqlite_messages *m, struct chat_state *e, size_t n);

/* sqlite_fold.c: the fold statements on a connection; inserting rows with them inside the
 * caller's transaction (each chat's rows contiguous in rows[], its last seq raised at its end);
 * making the fold transactions so far durable; replaying the log files left by the last run (at
 * open); stopping the folder and folding what is left (at close). */
int fold_stmts_prepare(struct fold_stmts *fs, sqlite3 *db, char *err, size_t errlen);
void fold_stmts_finalize(struct fold_stmts *fs);
int fold_stmt_exec(struct fold_stmts *fs, enum fold_stmt_id id);
int fold_insert_rows(struct fold_stmts *fs, struct log_row *const *rows, size_t count);
int fold_record_last_id(struct fold_stmts *fs, int64_t id);
int fold_make_durable(struct fold_stmts *fs, int64_t last_id);
int sqlite_fold_recover(sqlite_messages *m, char *err, size_t errlen);
void sqlite_fold_close(sqlite_messages *m, sqlite_checkpointer *ckpt);

/* sqlite_folder.c: the folder thread. start opens its connection (hooked to the checkpointer);
 * submit hands it rows (valid until it is done with them), the last id to record and the sealed
 * file (moved in: *sealed is left closed), to be made the file of generation next_gen once
 * folded (retry: a fold of these rows failed before, so some may be in the table already);
 * poll answers 1 once the fold is done, with its status and the file (moved out: the
 * next active file with STORE_OK, fd -1 if it could not be made ready; the sealed file as it was
 * otherwise), 0 while it runs; stop waits for a fold that runs, ends the thread, frees f and
 * answers as poll would. lock/unlock: the write lock both connections share (NULL: no folder
 * yet, nothing to lock). */
int sqlite_folder_start(const char *db_path, sqlite_checkpointer *ckpt, sqlite_folder **out,
                        char *err, size_t errlen);
void sqlite_folder_submit(sqlite_folder *f, struct log_row **rows, size_t count, int64_t last_id,
                          msglog *sealed, uint64_t next_gen, int retry);
int sqlite_folder_poll(sqlite_folder *f, int *status, msglog *file);
int sqlite_folder_stop(sqlite_folder *f, sqlite_checkpointer *ckpt, int *status, msglog *file);
void sqlite_folder_lock(sqlite_folder *f);
void sqlite_folder_unlock(sqlite_folder *f);

#endif
