/* sqlite_folder.c — the folder thread: puts the rows of a sealed message log file into the
 * messages table on a connection of its own, so that the store thread never waits for a fold
 * (sqlite_msg.h has the design).
 *
 * A fold is cut into transactions of about FOLDER_CHUNK_US, at chat boundaries, each committed
 * without SQLite's fsync (synchronous = NORMAL; the paced VFS syncs every 128 KiB, sqlite_paced.h)
 * under the write lock the store's connection takes too;
 * between two of them the store thread's batches get their turn, and the folder rests as long as
 * the transaction took so that a fold takes about half a core, not a whole one, from the loop
 * and store threads — unless the store is in a hurry (sqlite_paced.h): then no rests, and
 * transactions of FOLDER_HURRY_CHUNK_US, for throughput. Once every row is in, the
 * transactions are made durable (one small last transaction committed with an fsync of the WAL),
 * and the sealed file is made ready to be the next active one (renamed, new header, synced): the
 * store thread then frees the rows and swaps files without waiting for a disk. A fold that fails
 * stops at the failing chunk (rolled back; the chunks before it stay in) and is reported, its
 * file handed back as it was; the store thread submits it again a second later (rows already in
 * are skipped: ON CONFLICT DO NOTHING).
 *
 * Owns: the thread, its connection and statements, the write lock, the submission slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "store/sqlite_msg.h"
#include "store/sqlite_paced.h"
#include "util/log.h"
#include "util/thread.h"

#define FOLDER_CHUNK_US        5000 /* a transaction's time, ended at the next chat boundary … */
#define FOLDER_REST            1    /* … then a rest this many times as long, unless in a hurry */
#define FOLDER_HURRY_CHUNK_US  20000 /* a transaction's time in a hurry: fewer, bigger commits */
#define FOLDER_BUSY_TIMEOUT_MS 5000  /* for locks held by other processes (none expected) */

struct sqlite_folder {
    struct fold_stmts fs;
    uv_thread_t thread;
    uv_mutex_t write_mu; /* one writing connection at a time */
    uv_mutex_t mu;
    uv_cond_t cond;
    /* under mu: the submitted fold and its outcome */
    struct log_row **rows;
    size_t count;
    int64_t last_id;
    msglog file;       /* the sealed file while folding; after, the next active one (or fd -1) */
    uint64_t next_gen; /* the generation it is reused as */
    int retry;         /* these rows were submitted before: some may be in the table */
    int submitted, done, status, stopping;
    char *db_path;
};

/* The end of the chunk that starts at rows[at]: FOLDER_CHUNK_US of inserts is not known ahead,
 * so chunks are cut by row count, adjusted as the fold goes (rows_per_chunk). */
static size_t chunk_end(struct log_row *const *rows, size_t count, size_t at, size_t want) {
    size_t end = count - at > want ? at + want : count;
    while (end < count && rows[end]->m.chat_id == rows[end - 1]->m.chat_id)
        end++; /* a chat's rows stay in one transaction: its last seq is raised with them */
    return end;
}

/* One transaction (no fsync): rows[at, end). */
static int fold_chunk(sqlite_folder *f, struct log_row *const *rows, size_t at, size_t end) {
    uv_mutex_lock(&f->write_mu);
    int status = fold_stmt_exec(&f->fs, FOLD_BEGIN);
    status = status ? status : fold_insert_rows(&f->fs, rows + at, end - at);
    status = status ? status : fold_stmt_exec(&f->fs, FOLD_COMMIT);
    if (status != STORE_OK && !sqlite3_get_autocommit(f->fs.db))
        fold_stmt_exec(&f->fs, FOLD_ROLLBACK);
    uv_mutex_unlock(&f->write_mu);
    return status;
}

/* Folds rows[0, count) chunk by chunk, then makes it durable. */
static int folder_fold(sqlite_folder *f, struct log_row *const *rows, size_t count,
                       int64_t last_id) {
    size_t want = 512;
    for (size_t at = 0; at < count;) {
        size_t end = chunk_end(rows, count, at, want);
        int64_t t0 = (int64_t)(uv_hrtime() / 1000);
        int status = fold_chunk(f, rows, at, end);
        if (status != STORE_OK)
            return status;
        int64_t took = (int64_t)(uv_hrtime() / 1000) - t0;
        int hurry = sqlite_paced_hurrying() != 0;
        /* outside the write lock: the loop and store threads get the core (and disk) back */
        sqlite_paced_take_rest((uint64_t)took * 1000u * FOLDER_REST);
        int64_t target = hurry ? FOLDER_HURRY_CHUNK_US : FOLDER_CHUNK_US;
        if (took < target / 2 && want < 65536)
            want *= 2;
        else if (took > target * 2 && want > 64)
            want /= 2;
        at = end;
    }
    uv_mutex_lock(&f->write_mu);
    int status = fold_make_durable(&f->fs, last_id);
    uv_mutex_unlock(&f->write_mu);
    sqlite_paced_take_rest(0);
    return status;
}

/* The folded file, its rows now in the table, becomes the next active one; if that fails it is
 * removed (the store thread then makes a new one). */
static void folder_ready_file(msglog *file, const char *db_path, uint64_t gen) {
    msglog next;
    int rc = msglog_reuse(&next, file, db_path, gen);
    if (rc == 0) {
        *file = next;
        return;
    }
    log_warn("cannot reuse a message log file", "path", file->path, "error", strerror(-rc));
    msglog_close(file, 1);
}

/* Rows chat by chat, each chat's in seq order: a chat's rows share pages, and its last seq is
 * raised once. The fields compared never change once a row is made (the store thread only
 * links new rows after it meanwhile). */
static int by_chat_then_seq(const void *a, const void *b) {
    const store_message *x = &(*(struct log_row *const *)a)->m;
    const store_message *y = &(*(struct log_row *const *)b)->m;
    if (x->chat_id != y->chat_id)
        return x->chat_id < y->chat_id ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void folder_main(void *arg) {
    thread_set_name("convo-fold");
    sqlite_folder *f = arg;
    uv_mutex_lock(&f->mu);
    for (;;) {
        while (!f->submitted && !f->stopping)
            uv_cond_wait(&f->cond, &f->mu);
        if (!f->submitted)
            break; /* stopping, nothing left to fold */
        struct log_row **rows = f->rows;
        size_t count = f->count;
        int sorted = f->retry;
        int64_t last_id = f->last_id;
        msglog file = f->file;
        f->fs.warn_conflicts = !f->retry; /* a row already there is a bug only the first time */
        uv_mutex_unlock(&f->mu);
        if (!sorted) /* the store thread hands them over in append order */
            qsort(rows, count, sizeof *rows, by_chat_then_seq);
        int status = folder_fold(f, rows, count, last_id);
        if (status == STORE_OK)
            folder_ready_file(&file, f->db_path, f->next_gen);
        else
            log_error("message log fold failed: it is tried again", "error",
                      sqlite3_errmsg(f->fs.db));
        uv_mutex_lock(&f->mu);
        f->file = file;
        f->submitted = 0;
        f->done = 1;
        f->status = status;
    }
    uv_mutex_unlock(&f->mu);
}

void sqlite_folder_submit(sqlite_folder *f, struct log_row **rows, size_t count, int64_t last_id,
                          msglog *sealed, uint64_t next_gen, int retry) {
    uv_mutex_lock(&f->mu);
    f->retry = retry;
    f->rows = rows;
    f->count = count;
    f->last_id = last_id;
    f->file = *sealed;
    f->next_gen = next_gen;
    sealed->fd = -1;
    sealed->path = NULL;
    f->submitted = 1;
    f->done = 0;
    uv_cond_signal(&f->cond);
    uv_mutex_unlock(&f->mu);
}

/* Hands the outcome over (under mu): the status and the file. */
static int folder_take(sqlite_folder *f, int *status, msglog *file) {
    int done = f->done;
    if (done) {
        *status = f->status;
        *file = f->file;
        f->file.fd = -1;
        f->file.path = NULL;
        f->done = 0;
    }
    return done;
}

int sqlite_folder_poll(sqlite_folder *f, int *status, msglog *file) {
    uv_mutex_lock(&f->mu);
    int done = folder_take(f, status, file);
    uv_mutex_unlock(&f->mu);
    return done;
}

void sqlite_folder_lock(sqlite_folder *f) {
    if (f)
        uv_mutex_lock(&f->write_mu);
}

void sqlite_folder_unlock(sqlite_folder *f) {
    if (f)
        uv_mutex_unlock(&f->write_mu);
}

/* ---- start and stop ---- */

static int folder_connect(sqlite_folder *f, const char *db_path, char *err, size_t errlen) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db_path, &f->fs.db, flags, sqlite_paced_vfs()) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: folder connection: %s",
                 f->fs.db ? sqlite3_errmsg(f->fs.db) : "out of memory");
        return STORE_ERR_UNAVAILABLE;
    }
    sqlite3_extended_result_codes(f->fs.db, 1);
    sqlite3_busy_timeout(f->fs.db, FOLDER_BUSY_TIMEOUT_MS);
    /* Commits without an fsync: the fold syncs the files itself once it is whole. */
    if (sqlite3_exec(f->fs.db,
                     "PRAGMA journal_mode; PRAGMA synchronous = NORMAL; "
                     "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: folder connection: %s", sqlite3_errmsg(f->fs.db));
        return STORE_ERR_UNAVAILABLE;
    }
    f->fs.sync_normal = 1;
    return fold_stmts_prepare(&f->fs, f->fs.db, err, errlen);
}

static void folder_free(sqlite_folder *f, int sync_made) {
    fold_stmts_finalize(&f->fs);
    sqlite3_close(f->fs.db);
    msglog_close(&f->file, 0);
    free(f->db_path);
    if (sync_made) {
        uv_cond_destroy(&f->cond);
        uv_mutex_destroy(&f->mu);
        uv_mutex_destroy(&f->write_mu);
    }
    free(f);
}

int sqlite_folder_start(const char *db_path, sqlite_checkpointer *ckpt, sqlite_folder **out,
                        char *err, size_t errlen) {
    *out = NULL;
    sqlite_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->db_path = strdup(db_path))) {
        snprintf(err, errlen, "sqlite: out of memory");
        free(f);
        return STORE_ERR_NOMEM;
    }
    f->file.fd = -1;
    if (folder_connect(f, db_path, err, errlen) != 0) {
        folder_free(f, 0);
        return STORE_ERR_UNAVAILABLE;
    }
    int made = 0; /* the locks made so far, undone in reverse on failure */
    if (uv_mutex_init(&f->write_mu) == 0 && ++made && uv_mutex_init(&f->mu) == 0 && ++made &&
        uv_cond_init(&f->cond) == 0 && ++made &&
        uv_thread_create(&f->thread, folder_main, f) == 0) {
        sqlite_checkpointer_attach(f->fs.db, ckpt);
        *out = f;
        return 0;
    }
    snprintf(err, errlen, "sqlite: cannot start the folder thread");
    if (made == 3)
        uv_cond_destroy(&f->cond);
    if (made >= 2)
        uv_mutex_destroy(&f->mu);
    if (made >= 1)
        uv_mutex_destroy(&f->write_mu);
    folder_free(f, 0);
    return STORE_ERR_UNAVAILABLE;
}

int sqlite_folder_stop(sqlite_folder *f, sqlite_checkpointer *ckpt, int *status, msglog *file) {
    uv_mutex_lock(&f->mu);
    f->stopping = 1;
    uv_cond_signal(&f->cond);
    uv_mutex_unlock(&f->mu);
    uv_thread_join(&f->thread);
    int done = folder_take(f, status, file); /* the thread is gone: no lock needed */
    if (ckpt)
        sqlite_checkpointer_detach(f->fs.db);
    folder_free(f, 1);
    return done;
}
