/* sqlite_checkpoint.c — WAL checkpoints for the SQLite backend on a thread of their own, so the
 * writer never stops to copy pages into the database file (the stall behind a commit that runs
 * SQLite's automatic checkpoint: tens of milliseconds under load).
 *
 * The writers' connections (the store's and the folder's, whose commits take turns under one
 * lock) have automatic checkpoints off; their WAL hook (after each commit) wakes this thread once
 * the log holds CKPT_WAKE_PAGES pages, and it runs a PASSIVE checkpoint on a connection of its own
 * — it copies what it can without blocking the writer; the writer copies the small rest itself so
 * that the log restarts (see on_wal_commit), which bounds its size.
 *
 * Owns: the thread, its connection, and the flag and condition between the two threads.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "store/sqlite_paced.h"
#include "store/sqlite_priv.h"
#include "util/log.h"
#include "util/thread.h"

#define CKPT_WAKE_PAGES      256   /* WAL pages (4 KiB) past which each commit wakes the thread */
#define CKPT_RESET_PAGES     1024  /* 4 MiB of log: the writer may finish the copy … */
#define CKPT_FINISH_PAGES    512   /* … when at most this much is left for it to copy … */
#define CKPT_HARD_PAGES      16384 /* … or, waiting for the thread, past 64 MiB of log */
#define CKPT_HURRY_PAGES     8192  /* past 32 MiB of log, background writes stop resting */
#define CKPT_BUSY_TIMEOUT_MS 5000  /* the checkpointer waits this long for a lock */

struct sqlite_checkpointer {
    sqlite3 *db; /* the checkpointer's own connection */
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    /* under mu: */
    int wanted; /* a checkpoint is due */
    int stopping;
    uint64_t generation; /* log restarts seen by the writer's hook */
    uint64_t copied_gen; /* the generation the thread's last pass copied in … */
    int copied;          /* … and the frames of that log copied by then */
    int hook_pages;      /* the log's size at the last commit; under the write lock */
};

static void ckpt_run(sqlite_checkpointer *c, uint64_t generation) {
    int log_pages = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_warn("sqlite checkpoint failed", "error", sqlite3_errmsg(c->db));
    uv_mutex_lock(&c->mu);
    if (rc == SQLITE_OK && generation == c->generation) { /* not restarted meanwhile */
        c->copied_gen = generation;
        c->copied = copied;
    }
    uv_mutex_unlock(&c->mu);
}

static void ckpt_main(void *arg) {
    thread_set_name("convo-ckpt");
    sqlite_checkpointer *c = arg;
    uv_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stopping)
            uv_cond_wait(&c->cond, &c->mu);
        if (c->stopping)
            break;
        c->wanted = 0;
        uint64_t generation = c->generation;
        uv_mutex_unlock(&c->mu);
        ckpt_run(c, generation);
        sqlite_paced_take_rest(0); /* the pass is over: no lock held */
        uv_mutex_lock(&c->mu);
    }
    uv_mutex_unlock(&c->mu);
}

/* Frames of a log of `pages` frames the thread has not copied, as far as it is known (under mu). */
static int ckpt_uncopied(const sqlite_checkpointer *c, int pages) {
    int known = c->copied_gen == c->generation && c->copied <= pages;
    return known ? pages - c->copied : pages;
}

/* The writer's WAL hook: runs after each commit on the store thread. Past CKPT_WAKE_PAGES
 * pages of log the thread is woken to copy what is new (small, frequent passes keep each of its
 * fsyncs short, and measured better than fewer, bigger ones). The log restarts from its
 * beginning only at a write that finds every frame copied, which a thread copying beside a busy
 * writer rarely sees: so once the thread has copied all but a little of a long log, the writer runs
 * a PASSIVE checkpoint itself for the rest (BUSY at once, to be tried after the next commit, while
 * the thread is copying). Past CKPT_HARD_PAGES it copies whatever is left, waiting for the
 * thread's pass to end if need be (RESTART): that commit is slow, and the log stays bounded.
 */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages) {
    sqlite_checkpointer *c = arg;
    int restarted = pages < c->hook_pages; /* the log began again (the thread had copied it all) */
    c->hook_pages = pages;
    sqlite_paced_hurry(SQLITE_PACED_HURRY_WAL, pages >= CKPT_HURRY_PAGES);
    if (!restarted && pages < CKPT_WAKE_PAGES)
        return SQLITE_OK;
    uv_mutex_lock(&c->mu);
    c->generation += (uint64_t)restarted;
    int uncopied = ckpt_uncopied(c, pages);
    uv_mutex_unlock(&c->mu);
    int hard = pages >= CKPT_HARD_PAGES;
    if (hard || (pages >= CKPT_RESET_PAGES && uncopied <= CKPT_FINISH_PAGES)) {
        /* RESTART waits (the writer's busy timeout) for the thread's pass to end; PASSIVE does
         * not wait and answers BUSY while the thread is copying. */
        int log_pages = 0, copied = 0;
        int mode = hard ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
        int rc = sqlite3_wal_checkpoint_v2(db, name, mode, &log_pages, &copied);
        if (rc == SQLITE_OK && copied == log_pages) {
            uv_mutex_lock(&c->mu);
            c->generation++; /* the next write restarts the log */
            uv_mutex_unlock(&c->mu);
            return SQLITE_OK;
        }
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
    if (sqlite3_open_v2(path, &c->db, flags, sqlite_paced_vfs()) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: checkpoint connection: %s",
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        ckpt_free(c, 0);
        return STORE_ERR_UNAVAILABLE;
    }
    sqlite3_busy_timeout(c->db, CKPT_BUSY_TIMEOUT_MS);
    /* A connection reads the file's header (and learns it is in WAL mode) only when first used;
     * until then a checkpoint on it does nothing. Its fsyncs are the writer's: FULL. */
    if (sqlite3_exec(c->db, "PRAGMA journal_mode; PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
        SQLITE_OK) {
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
    sqlite_checkpointer_attach(writer, c);
    *out = c;
    return 0;
}

void sqlite_checkpointer_attach(sqlite3 *writer, sqlite_checkpointer *c) {
    sqlite3_wal_autocheckpoint(writer, 0);
    sqlite3_wal_hook(writer, on_wal_commit, c);
}

void sqlite_checkpointer_detach(sqlite3 *writer) {
    sqlite3_wal_hook(writer, NULL, NULL);
}

void sqlite_checkpointer_stop(sqlite3 *writer, sqlite_checkpointer *c) {
    if (!c)
        return;
    sqlite3_wal_hook(writer, NULL, NULL);
    uv_mutex_lock(&c->mu);
    c->stopping = 1;
    uv_cond_signal(&c->cond);
    uv_mutex_unlock(&c->mu);
    uv_thread_join(&c->thread);
    ckpt_free(c, 1);
    sqlite_paced_hurry(SQLITE_PACED_HURRY_WAL, 0); /* no commit is left to clear it */
}
