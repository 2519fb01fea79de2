/* sqlite_checkpoint.c — WAL checkpoints for the SQLite backend on a thread of their own, so the
 * writer never stops to copy pages into the database file (the stall behind a commit that runs
 * SQLite's automatic checkpoint: tens of milliseconds under load).
 *
 * The writer's connection has automatic checkpoints off; its WAL hook (after each commit, on the
 * store thread) wakes this thread once the log holds CKPT_WAKE_PAGES pages, and this thread runs
 * a PASSIVE checkpoint on a connection of its own — it copies what it can without blocking the
 * writer; past CKPT_RESET_PAGES the writer copies the rest itself so that the log restarts (see
 * on_wal_commit), which bounds its size.
 *
 * Owns: the thread, its connection, and the flag and condition between the two threads.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "store/sqlite_priv.h"
#include "util/log.h"

#define CKPT_WAKE_PAGES      1000 /* WAL pages (4 KiB) after which a checkpoint is started */
#define CKPT_RESET_PAGES     4096 /* 16 MiB of log: the writer finishes the copy so it restarts */
#define CKPT_BUSY_TIMEOUT_MS 5000 /* the checkpointer waits this long for a lock */
#define CKPT_THREAD_NICE     10   /* copying pages yields to the loop and the writer */

struct sqlite_checkpointer {
    sqlite3 *db; /* the checkpointer's own connection */
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    int wanted; /* a checkpoint is due; under mu */
    int stopping;
    uint64_t runs;
};

static void ckpt_run(sqlite_checkpointer *c) {
    int log_pages = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_warn("sqlite checkpoint failed", "error", sqlite3_errmsg(c->db));
    c->runs++;
}

static void ckpt_main(void *arg) {
    sqlite_checkpointer *c = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CKPT_THREAD_NICE); /* this thread only */
    uv_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stopping)
            uv_cond_wait(&c->cond, &c->mu);
        if (c->stopping)
            break;
        c->wanted = 0;
        uv_mutex_unlock(&c->mu);
        ckpt_run(c);
        uv_mutex_lock(&c->mu);
    }
    uv_mutex_unlock(&c->mu);
}

/* The writer's WAL hook: runs after each commit on the store thread. Past CKPT_WAKE_PAGES the
 * thread is woken to copy pages in the background. The log restarts from its beginning only at a
 * write that finds every frame copied, which a thread copying beside a busy writer rarely sees:
 * so past CKPT_RESET_PAGES the writer runs a PASSIVE checkpoint itself, which copies just what
 * the thread has not (and answers BUSY at once, to be tried after the next commit, while the
 * thread is copying). */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages) {
    sqlite_checkpointer *c = arg;
    if (pages >= CKPT_RESET_PAGES) {
        int log_pages = 0, copied = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
        if (rc == SQLITE_OK && copied == log_pages)
            return SQLITE_OK;
    }
    if (pages >= CKPT_WAKE_PAGES) {
        uv_mutex_lock(&c->mu);
        c->wanted = 1;
        uv_cond_signal(&c->cond);
        uv_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

static void ckpt_free(sqlite_checkpointer *c, int sync_made) {
    if (sync_made) {
        uv_cond_destroy(&c->cond);
        uv_mutex_destroy(&c->mu);
    }
    sqlite3_close(c->db);
    free(c);
}

int sqlite_checkpointer_start(sqlite3 *writer, const char *path, sqlite_checkpointer **out,
                              char *err, size_t errlen) {
    sqlite_checkpointer *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "sqlite: out of memory");
        return STORE_ERR_NOMEM;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: checkpoint connection: %s",
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        ckpt_free(c, 0);
        return STORE_ERR_UNAVAILABLE;
    }
    sqlite3_busy_timeout(c->db, CKPT_BUSY_TIMEOUT_MS);
    /* A connection reads the file's header (and learns it is in WAL mode) only when first used;
     * until then a checkpoint on it does nothing. */
    if (sqlite3_exec(c->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: checkpoint connection: %s", sqlite3_errmsg(c->db));
        ckpt_free(c, 0);
        return STORE_ERR_UNAVAILABLE;
    }
    int made_mu = uv_mutex_init(&c->mu) == 0;
    if (!made_mu || uv_cond_init(&c->cond) != 0) {
        snprintf(err, errlen, "sqlite: checkpoint thread: cannot make its lock");
        if (made_mu)
            uv_mutex_destroy(&c->mu);
        ckpt_free(c, 0);
        return STORE_ERR_UNAVAILABLE;
    }
    if (uv_thread_create(&c->thread, ckpt_main, c) != 0) {
        snprintf(err, errlen, "sqlite: cannot start the checkpoint thread");
        ckpt_free(c, 1);
        return STORE_ERR_UNAVAILABLE;
    }
    sqlite3_wal_autocheckpoint(writer, 0);
    sqlite3_wal_hook(writer, on_wal_commit, c);
    *out = c;
    return 0;
}

uint64_t sqlite_checkpointer_stop(sqlite3 *writer, sqlite_checkpointer *c) {
    if (!c)
        return 0;
    sqlite3_wal_hook(writer, NULL, NULL);
    uv_mutex_lock(&c->mu);
    c->stopping = 1;
    uv_cond_signal(&c->cond);
    uv_mutex_unlock(&c->mu);
    uv_thread_join(&c->thread);
    uint64_t runs = c->runs;
    ckpt_free(c, 1);
    return runs;
}
